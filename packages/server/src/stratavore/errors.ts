import { ErrorInfoSchema as GoogleErrorInfoSchema } from "@baton/wire/google-rpc";
import { ErrorInfoSchema } from "@baton/wire/stratavore";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

/** The `google.rpc.ErrorInfo` domain of Stratavore's errors. */
export const ERROR_DOMAIN = "stratavore.v1";

/** Stable error codes (`ErrorInfo.code`), one per cause. */
export const Reason = {
  /** INVALID_ARGUMENT: a field is missing or out of range (details `field`). */
  invalidArgument: "INVALID_ARGUMENT",
  /** NOT_FOUND: no project of that name. */
  projectNotFound: "PROJECT_NOT_FOUND",
  /** ALREADY_EXISTS: a project of that name exists. */
  projectExists: "PROJECT_ALREADY_EXISTS",
  /** FAILED_PRECONDITION: the project still has active runners; stop them first. */
  projectHasActiveRunners: "PROJECT_HAS_ACTIVE_RUNNERS",
  /** FAILED_PRECONDITION: the project is not ACTIVE, so it takes no new runners. */
  projectNotActive: "PROJECT_NOT_ACTIVE",
  /** NOT_FOUND: no runner of that id. */
  runnerNotFound: "RUNNER_NOT_FOUND",
  /** ALREADY_EXISTS: another runner has that runtime id. */
  runnerExists: "RUNNER_ALREADY_EXISTS",
  /** FAILED_PRECONDITION: the runner is still active (or stopping): stop it first, or delete with force. */
  runnerActive: "RUNNER_ACTIVE",
  /** FAILED_PRECONDITION: the runner is not in a status the call needs (nothing to stop, no status change from there, no session for it). */
  runnerNotActive: "RUNNER_NOT_ACTIVE",
  /** NOT_FOUND: no session of that id. */
  sessionNotFound: "SESSION_NOT_FOUND",
  /** FAILED_PRECONDITION: a runner is still writing the session: stop it first. */
  sessionActive: "SESSION_ACTIVE",
  /** INVALID_ARGUMENT: the model is not one of `stratavore.models` (details `field`, `model`). */
  unknownModel: "UNKNOWN_MODEL",
  /** RESOURCE_EXHAUSTED: a quota refused (details `limit`, `scope`, `max`, `requested`). */
  quotaExceeded: "QUOTA_EXCEEDED",
  /** OUT_OF_RANGE: the events asked for were dropped by retention. */
  eventsExpired: "EVENTS_NO_LONGER_RETAINED",
  /** RESOURCE_EXHAUSTED: `stratavore.maxRunners`/`maxSessions` entries are kept and none has ended (details `max`). */
  retentionFull: "RETENTION_FULL",
  /** UNAUTHENTICATED: no token, or one that does not verify. */
  unauthenticated: "UNAUTHENTICATED",
  /** PERMISSION_DENIED: the token lacks the role the rpc needs. */
  permissionDenied: "PERMISSION_DENIED",
  /** The fallback for an error of no more specific cause. */
  internal: "INTERNAL",
} as const;

/** The core client's reason for a refusal that names a limit (it becomes BudgetExceededError). */
const LIMIT_REASON = "BUDGET_EXCEEDED";

/**
 * A ConnectError carrying the seed's `stratavore.v1.ErrorInfo` (code, message, details; the
 * request id is filled in by the request guard) and a `google.rpc.ErrorInfo` with the same
 * cause, so generic gRPC clients decode it too. Quota refusals use reason `BUDGET_EXCEEDED`
 * with metadata `limit` in the google detail, which Baton clients surface as the limit.
 */
export function fail(code: Code, reason: string, message: string, details: Record<string, string> = {}): ConnectError {
  const googleReason = code === Code.ResourceExhausted && details.limit ? LIMIT_REASON : reason;
  return new ConnectError(message, code, undefined, [
    { desc: ErrorInfoSchema, value: { code: reason, message, details } },
    { desc: GoogleErrorInfoSchema, value: { reason: googleReason, domain: ERROR_DOMAIN, metadata: details } },
  ]);
}

/** INVALID_ARGUMENT naming the field. */
export function invalid(field: string, message: string): ConnectError {
  return fail(Code.InvalidArgument, Reason.invalidArgument, message, { field });
}

/**
 * Stamps an error leaving a handler with the request id in the seed's ErrorInfo (added when
 * the handler threw something else); the `x-request-id` response header carries it too.
 */
export function withRequestId(err: unknown, requestId: string): ConnectError {
  const ce =
    err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
  let found = false;
  ce.details.forEach((d, i) => {
    if ("desc" in d && d.desc === ErrorInfoSchema) {
      found = true;
      ce.details[i] = { desc: ErrorInfoSchema, value: { ...d.value, requestId } };
    }
  });
  if (!found)
    ce.details.push({
      desc: ErrorInfoSchema,
      value: create(ErrorInfoSchema, {
        code: Code[ce.code]?.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase() ?? Reason.internal,
        message: ce.rawMessage,
        requestId,
      }),
    });
  return ce;
}
