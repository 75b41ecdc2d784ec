import {
  BatonError,
  BudgetExceededError,
  CanceledError,
  Code,
  ConflictError,
  DeadlineExceededError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  OutOfRangeError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnavailableError,
} from "@baton/orca";

/** The `baton` exit codes, by error class (the README's table). */
export const EXIT = Object.freeze({
  /** Success. */
  ok: 0,
  /** Any other failure (internal errors, protocol errors, unexpected answers). */
  other: 1,
  /** The command line is wrong: unknown verb or flag, missing argument, unreadable `--json`. */
  usage: 2,
  /** NOT_FOUND (HTTP 404): the run, session, workflow... does not exist. */
  notFound: 3,
  /** UNAUTHENTICATED or PERMISSION_DENIED (HTTP 401, 403). */
  auth: 4,
  /** INVALID_ARGUMENT or OUT_OF_RANGE (HTTP 400, 422), from the server or caught by the client. */
  invalidArgument: 5,
  /** UNAVAILABLE or DEADLINE_EXCEEDED: the server cannot be reached or did not answer in time. */
  unavailable: 6,
  /** A budget or quota refused the call (`BudgetExceededError`). */
  budgetExceeded: 7,
  /** ALREADY_EXISTS, ABORTED or FAILED_PRECONDITION (HTTP 409, 412): the state does not allow it. */
  conflict: 8,
  /** Interrupted (SIGINT, SIGTERM), as shells report a signal. */
  interrupted: 130,
});

/** A mistake on the command line: exits with `EXIT.usage` (2, see {@link EXIT}). */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The exit code of a failure, by its class. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (!(err instanceof BatonError)) return EXIT.other;
  if (err instanceof NotFoundError) return EXIT.notFound;
  if (err instanceof UnauthenticatedError || err instanceof PermissionDeniedError) return EXIT.auth;
  if (err instanceof InvalidArgumentError || err instanceof OutOfRangeError) return EXIT.invalidArgument;
  if (err instanceof UnavailableError || err instanceof DeadlineExceededError) return EXIT.unavailable;
  if (err instanceof BudgetExceededError) return EXIT.budgetExceeded;
  if (err instanceof ConflictError || err instanceof FailedPreconditionError) return EXIT.conflict;
  if (err instanceof CanceledError) return EXIT.interrupted;
  return EXIT.other;
}

/** A gRPC code's name in snake case (`NotFound` → `not_found`), as Connect spells codes. */
export function codeName(code: Code): string {
  const name = Code[code] ?? "unknown";
  return name.replace(/[A-Z]/g, (c, i: number) => (i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`));
}

/** What `baton` prints about a failure: a JSON-ready description. */
export interface ErrorReport {
  /** The error class (`NotFoundError`, `UsageError`, ...). */
  type: string;
  /** The gRPC code in snake case (`not_found`), or `usage` for command-line mistakes. */
  code: string;
  /** The message. */
  message: string;
  /** The exit code `baton` ends with. */
  exitCode: number;
  /** The HTTP status, where there was one. */
  status?: number;
  /** The server's request id, where it sent one. */
  requestId?: string;
  /** The `google.rpc.ErrorInfo` reason, where the server gave one. */
  reason?: string;
  /** The budget limit a `BudgetExceededError` names. */
  limit?: string;
}

/** Describes a failure for {@link formatError}. */
export function errorReport(err: unknown): ErrorReport {
  const exitCode = exitCodeOf(err);
  if (err instanceof UsageError) return { type: "UsageError", code: "usage", message: err.message, exitCode };
  if (err instanceof BatonError) {
    const limit = err instanceof BudgetExceededError ? err.limit : undefined;
    return {
      type: err.name,
      code: codeName(err.code),
      message: err.message,
      exitCode,
      ...(err.status !== undefined ? { status: err.status } : {}),
      ...(err.requestId !== undefined ? { requestId: err.requestId } : {}),
      ...(err.errorInfo?.reason ? { reason: err.errorInfo.reason } : {}),
      ...(limit ? { limit } : {}),
    };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return { type: e.name, code: "unknown", message: e.message, exitCode };
}

/**
 * A failure as the one line `baton` prints on stderr: `{"error": {...}}` as JSON, or
 * `baton: message (code, request id ...)` for people. Newlines in messages become spaces.
 */
export function formatError(err: unknown, json: boolean): string {
  const r = errorReport(err);
  if (json) return `${JSON.stringify({ error: r })}\n`;
  const extra = [
    r.code,
    r.reason,
    r.limit ? `limit ${r.limit}` : undefined,
    r.requestId ? `request id ${r.requestId}` : undefined,
  ].filter((x): x is string => x !== undefined);
  return `baton: ${r.message.replace(/\s*\n\s*/g, " ")} (${extra.join(", ")})\n`;
}
