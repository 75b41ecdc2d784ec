import { BadRequestSchema, type ErrorInfo, ErrorInfoSchema, RetryInfoSchema } from "@baton/wire/google-rpc";
import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

/** The gRPC/Connect status codes, re-exported so users need not import connect. */
export { Code };

const KINDS = Symbol.for("@baton/core.error-kinds");

/** A field error list as carried by problem+json `errors` (field path to messages). */
export type FieldErrors = Record<string, string[]>;

/** What a {@link BatonError} is built from. */
export interface BatonErrorInit {
  /** The gRPC/Connect code. Defaults to the class's own code. */
  code?: Code;
  /** The HTTP status, where the error came from an HTTP response. */
  status?: number;
  /** The request id the server or client attached, for support and logs. */
  requestId?: string;
  /** Overrides whether retrying the same call may succeed. */
  retryable?: boolean;
  /** Milliseconds the server asked the client to wait before retrying. */
  retryAfterMs?: number;
  /** Structured details: decoded gRPC error details or the problem+json body. */
  details?: readonly unknown[];
  /** The underlying error. */
  cause?: unknown;
  /** problem+json `type` URI. */
  type?: string;
  /** problem+json `title`. */
  title?: string;
  /** problem+json `detail`, or the gRPC status message. */
  detail?: string;
  /** problem+json per-field validation errors. */
  errors?: FieldErrors;
  /** Response headers or trailers. */
  metadata?: Headers;
  /** The `google.rpc.ErrorInfo` detail, where the server sent one. */
  errorInfo?: ErrorInfo;
}

/** The reason a server puts in `google.rpc.ErrorInfo` when a call would exceed a budget. */
export const BUDGET_EXCEEDED_REASON = "BUDGET_EXCEEDED";

/**
 * The one error type Baton throws, for gRPC and REST alike. Subclasses say what went
 * wrong (`NotFoundError`, `BudgetExceededError`, ...). `instanceof` works across duplicate
 * copies of this package, because it checks a brand rather than the prototype chain.
 *
 * @example
 * ```ts
 * try { await run.submit(task) } catch (e) {
 *   if (e instanceof BudgetExceededError) console.log("over budget:", e.limit);
 * }
 * ```
 */
export class BatonError extends Error {
  /** Stable kind name used for cross-copy `instanceof`. */
  static readonly kind: string = "BatonError";
  /** The code a bare instance of this class gets. */
  static readonly defaultCode: Code = Code.Unknown;

  /** The gRPC/Connect code. */
  readonly code: Code;
  /** HTTP status, where the error came from an HTTP response. */
  readonly status: number | undefined;
  /** The request id, where known. */
  readonly requestId: string | undefined;
  /** Whether the same call may succeed if retried (transient failure). */
  readonly retryable: boolean;
  /** Milliseconds the server asked to wait before retrying, where it said so. */
  readonly retryAfterMs: number | undefined;
  /** Structured details (decoded gRPC details, or the problem+json body). */
  readonly details: readonly unknown[];
  /** problem+json `type`. */
  readonly type: string | undefined;
  /** problem+json `title`. */
  readonly title: string | undefined;
  /** The server's explanation (problem+json `detail` or the gRPC message). */
  readonly detail: string | undefined;
  /** Per-field validation errors. */
  readonly errors: FieldErrors | undefined;
  /** Response headers or trailers. */
  readonly metadata: Headers;
  /**
   * The `google.rpc.ErrorInfo` the server attached (`reason`, `domain`, `metadata`), where
   * it sent one: a machine-readable cause, stable where the message is not.
   */
  readonly errorInfo: ErrorInfo | undefined;
  /**
   * The brand behind cross-copy `instanceof`: the `kind` of this class and of each Baton
   * error class it extends. Non-enumerable; not part of the API.
   *
   * @internal
   */
  declare readonly [KINDS]: readonly string[];

  constructor(message: string, init: BatonErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    const ctor = new.target as unknown as typeof BatonError;
    this.name = ctor.kind;
    this.code = init.code ?? ctor.defaultCode;
    this.status = init.status;
    this.requestId = init.requestId;
    this.retryAfterMs = init.retryAfterMs;
    this.retryable = init.retryable ?? defaultRetryable(this.code, init.retryAfterMs);
    this.details = init.details ?? [];
    this.type = init.type;
    this.title = init.title;
    this.detail = init.detail;
    this.errors = init.errors;
    this.metadata = init.metadata ?? new Headers();
    this.errorInfo = init.errorInfo;
    const kinds: string[] = [];
    for (let c: unknown = ctor; typeof c === "function" && "kind" in c; c = Object.getPrototypeOf(c)) {
      const kind = (c as typeof BatonError).kind;
      if (!kinds.includes(kind)) kinds.push(kind);
    }
    Object.defineProperty(this, KINDS, { value: Object.freeze(kinds), enumerable: false });
  }

  /**
   * Decodes the error details of one message type, as connect-es `ConnectError.findDetails`
   * does: `err.findDetails(QuotaFailureSchema)` gives every `google.rpc.QuotaFailure` the
   * server sent (an empty array when none, or when a detail does not decode).
   *
   * @example
   * ```ts
   * import { PreconditionFailureSchema } from "@baton/wire/google-rpc";
   * for (const f of err.findDetails(PreconditionFailureSchema)) console.log(f.violations);
   * ```
   */
  findDetails<Desc extends DescMessage>(desc: Desc): MessageShape<Desc>[] {
    return findDetails(this.details, desc);
  }

  /** `instanceof` by brand, so two copies of `@baton/core` recognise each other's errors. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== "object" || value === null) return false;
    const kinds = (value as { [KINDS]?: unknown })[KINDS];
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass being tested against.
    return Array.isArray(kinds) && kinds.includes(this.kind);
  }
}

function defaultRetryable(code: Code, retryAfterMs: number | undefined): boolean {
  if (code === Code.Unavailable) return true;
  // RESOURCE_EXHAUSTED is a rate limit only when the server says when to come back.
  if (code === Code.ResourceExhausted) return retryAfterMs !== undefined;
  return false;
}

/** The operation was cancelled by the caller (an `AbortSignal` or `break`). */
export class CanceledError extends BatonError {
  static override readonly kind: string = "CanceledError";
  static override readonly defaultCode: Code = Code.Canceled;
}
/** The request was malformed or failed validation (gRPC INVALID_ARGUMENT, HTTP 400/422). */
export class InvalidArgumentError extends BatonError {
  static override readonly kind: string = "InvalidArgumentError";
  static override readonly defaultCode: Code = Code.InvalidArgument;
}
/** The deadline (`timeoutMs`) passed before the call completed. */
export class DeadlineExceededError extends BatonError {
  static override readonly kind: string = "DeadlineExceededError";
  static override readonly defaultCode: Code = Code.DeadlineExceeded;
}
/** The resource does not exist (gRPC NOT_FOUND, HTTP 404). */
export class NotFoundError extends BatonError {
  static override readonly kind: string = "NotFoundError";
  static override readonly defaultCode: Code = Code.NotFound;
}
/** The request conflicts with the resource's current state (HTTP 409, gRPC ABORTED). */
export class ConflictError extends BatonError {
  static override readonly kind: string = "ConflictError";
  static override readonly defaultCode: Code = Code.Aborted;
}
/** The resource already exists in a different form (gRPC ALREADY_EXISTS). */
export class AlreadyExistsError extends ConflictError {
  static override readonly kind: string = "AlreadyExistsError";
  static override readonly defaultCode: Code = Code.AlreadyExists;
}
/** The caller is authenticated but not allowed (gRPC PERMISSION_DENIED, HTTP 403). */
export class PermissionDeniedError extends BatonError {
  static override readonly kind: string = "PermissionDeniedError";
  static override readonly defaultCode: Code = Code.PermissionDenied;
}
/** The caller is not authenticated: token missing, wrong or expired (gRPC UNAUTHENTICATED, HTTP 401). */
export class UnauthenticatedError extends BatonError {
  static override readonly kind: string = "UnauthenticatedError";
  static override readonly defaultCode: Code = Code.Unauthenticated;
}
/** A quota or rate limit was hit (gRPC RESOURCE_EXHAUSTED, HTTP 429). */
export class ResourceExhaustedError extends BatonError {
  static override readonly kind: string = "ResourceExhaustedError";
  static override readonly defaultCode: Code = Code.ResourceExhausted;
}

/** What a {@link BudgetExceededError} is built from. */
export interface BudgetExceededErrorInit extends BatonErrorInit {
  /** Which limit would have been exceeded, e.g. `max_tokens` or `max_cost_micros`. */
  limit?: string;
}

/** A budget limit would be exceeded by the call; `limit` names which. Never retryable. */
export class BudgetExceededError extends ResourceExhaustedError {
  static override readonly kind: string = "BudgetExceededError";
  /** The limit that would have been exceeded, e.g. `max_tokens`, where the server said. */
  readonly limit: string | undefined;
  constructor(message: string, init: BudgetExceededErrorInit = {}) {
    super(message, { ...init, retryable: false });
    this.limit = init.limit;
  }
}
/** The system is not in a state the call needs (gRPC FAILED_PRECONDITION). */
export class FailedPreconditionError extends BatonError {
  static override readonly kind: string = "FailedPreconditionError";
  static override readonly defaultCode: Code = Code.FailedPrecondition;
}
/** A value was outside its valid range (gRPC OUT_OF_RANGE). */
export class OutOfRangeError extends BatonError {
  static override readonly kind: string = "OutOfRangeError";
  static override readonly defaultCode: Code = Code.OutOfRange;
}
/** The server does not implement the call (gRPC UNIMPLEMENTED, HTTP 501). */
export class UnimplementedError extends BatonError {
  static override readonly kind: string = "UnimplementedError";
  static override readonly defaultCode: Code = Code.Unimplemented;
}
/** The server failed (gRPC INTERNAL/DATA_LOSS/UNKNOWN, HTTP 500). */
export class InternalError extends BatonError {
  static override readonly kind: string = "InternalError";
  static override readonly defaultCode: Code = Code.Internal;
}
/** The server could not be reached or is overloaded (gRPC UNAVAILABLE, HTTP 502/503/504). Retryable. */
export class UnavailableError extends BatonError {
  static override readonly kind: string = "UnavailableError";
  static override readonly defaultCode: Code = Code.Unavailable;
}

const byCode: Record<Code, typeof BatonError> = {
  [Code.Canceled]: CanceledError,
  [Code.Unknown]: InternalError,
  [Code.InvalidArgument]: InvalidArgumentError,
  [Code.DeadlineExceeded]: DeadlineExceededError,
  [Code.NotFound]: NotFoundError,
  [Code.AlreadyExists]: AlreadyExistsError,
  [Code.PermissionDenied]: PermissionDeniedError,
  [Code.ResourceExhausted]: ResourceExhaustedError,
  [Code.FailedPrecondition]: FailedPreconditionError,
  [Code.Aborted]: ConflictError,
  [Code.OutOfRange]: OutOfRangeError,
  [Code.Unimplemented]: UnimplementedError,
  [Code.Internal]: InternalError,
  [Code.Unavailable]: UnavailableError,
  [Code.DataLoss]: InternalError,
  [Code.Unauthenticated]: UnauthenticatedError,
};

/** The Baton error class for a gRPC/Connect code. */
export function errorClassForCode(code: Code): typeof BatonError {
  return byCode[code] ?? InternalError;
}

/** Reads a retry delay the server asked for: `retry-after` (seconds or date) or gRPC pushback. */
export function parseRetryAfter(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const pushback = headers.get("grpc-retry-pushback-ms");
  if (pushback !== null && /^\d+$/.test(pushback.trim())) return Number(pushback.trim());
  const value = headers.get("retry-after");
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Decodes, from a list of gRPC error details (`{ type, value }` as connect-es gives them,
 * or messages already decoded), every detail of one message type. Details that do not
 * decode are skipped: a broken detail must not hide the error it came with.
 */
export function findDetails<Desc extends DescMessage>(details: readonly unknown[], desc: Desc): MessageShape<Desc>[] {
  const out: MessageShape<Desc>[] = [];
  for (const d of details) {
    if (typeof d !== "object" || d === null) continue;
    const detail = d as { type?: unknown; value?: unknown; desc?: DescMessage; $typeName?: unknown };
    if (detail.$typeName === desc.typeName) {
      out.push(d as MessageShape<Desc>);
    } else if (detail.desc?.typeName === desc.typeName && typeof detail.value === "object" && detail.value !== null) {
      out.push(detail.value as MessageShape<Desc>);
    } else if (detail.type === desc.typeName && detail.value instanceof Uint8Array) {
      try {
        out.push(fromBinary(desc, detail.value));
      } catch {
        // skip a detail that does not decode
      }
    }
  }
  return out;
}

/** Milliseconds of a `google.protobuf.Duration`. */
function durationMs(d: { seconds: bigint; nanos: number }): number {
  return Math.max(0, Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6));
}

/**
 * The request id of a response: `x-request-id`, or `x-correlation-id` (what Portarium
 * echoes), from its headers or trailers.
 */
export function requestIdOf(headers: Headers | undefined): string | undefined {
  return headers?.get("x-request-id") ?? headers?.get("x-correlation-id") ?? undefined;
}

/**
 * Turns anything a call threw into a {@link BatonError}: `ConnectError`s map by code,
 * aborts become {@link CanceledError}, Baton errors pass through untouched.
 */
export function toBatonError(err: unknown): BatonError {
  if (err instanceof BatonError) return err;
  if (isAbortError(err)) {
    return new CanceledError("the operation was cancelled", { cause: err });
  }
  const ce = ConnectError.from(err);
  const dial = connectionFailure(err);
  if (dial) {
    const what = dial.refused ? "the server refused the stream unprocessed (it is going away)" : "could not connect";
    return new UnavailableError(`${what}: ${dial.message}`, {
      cause: err,
      detail: dial.message,
      retryable: dial.retryable,
    });
  }
  const metadata = new Headers(ce.metadata);
  const details = ce.details;
  const errorInfo = findDetails(details, ErrorInfoSchema)[0];
  const retryInfo = findDetails(details, RetryInfoSchema)[0];
  const retryAfterMs =
    parseRetryAfter(metadata) ?? (retryInfo?.retryDelay ? durationMs(retryInfo.retryDelay) : undefined);
  const violations = findDetails(details, BadRequestSchema).flatMap((b) => b.fieldViolations);
  const errors: FieldErrors | undefined = violations.length > 0 ? {} : undefined;
  for (const v of violations) if (errors) errors[v.field] = [...(errors[v.field] ?? []), v.description];
  const requestId = requestIdOf(metadata);
  const init: BatonErrorInit = {
    code: ce.code,
    cause: err,
    details,
    detail: ce.rawMessage,
    metadata,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(requestId === undefined ? {} : { requestId }),
    ...(errorInfo === undefined ? {} : { errorInfo }),
    ...(errors === undefined ? {} : { errors }),
  };
  const message = ce.rawMessage || Code[ce.code] || "error";
  if (ce.code === Code.ResourceExhausted && errorInfo?.reason === BUDGET_EXCEEDED_REASON) {
    const limit = errorInfo.metadata.limit;
    return new BudgetExceededError(message, { ...init, ...(limit ? { limit } : {}) });
  }
  return new (errorClassForCode(ce.code))(message, init);
}

/**
 * The server answered something the client cannot use: a response that is missing a
 * required part or does not parse. Not the caller's fault (unlike
 * {@link InvalidArgumentError}), and not retryable.
 */
export class ProtocolError extends InternalError {
  static override readonly kind: string = "ProtocolError";
  static override readonly defaultCode: Code = Code.Internal;
}

/**
 * The value of a field the server must send, or a {@link ProtocolError} naming what is
 * missing.
 *
 * @throws {ProtocolError} when `value` is undefined or null.
 */
export function required<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null) throw new ProtocolError(`the server's response has no ${what}`);
  return value;
}

/** True for the errors `AbortSignal`s produce (`AbortError`, `TimeoutError`). */
export function isAbortError(err: unknown): boolean {
  return (
    err instanceof Error && (err.name === "AbortError" || err.name === "TimeoutError") && !(err instanceof ConnectError)
  );
}

/** Socket errors that mean "the server could not be reached" (worth retrying). */
const TRANSIENT_SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOENT",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "ENOTFOUND",
]);

/**
 * Finds, in an error's cause chain, a failure to establish the connection: a socket error
 * (transient) or a TLS handshake or verification failure (not transient: retrying will not
 * fix a certificate). gRPC reports both as UNAVAILABLE. An HTTP/2 stream the server reset
 * with REFUSED_STREAM (sent before its GOAWAY reached the client) was never processed: that
 * is UNAVAILABLE and transient too (`refused`).
 */
function connectionFailure(err: unknown): { message: string; retryable: boolean; refused?: boolean } | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 6 && e instanceof Error; depth++) {
    if (e instanceof BatonError && e.code === Code.Unavailable) return { message: e.message, retryable: e.retryable };
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") {
      if (TRANSIENT_SOCKET_CODES.has(code)) return { message: e.message, retryable: true };
      if (code === "ERR_HTTP2_STREAM_ERROR" && /REFUSED_STREAM/.test(e.message)) {
        return { message: e.message, retryable: true, refused: true };
      }
      if (/^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH|ERR_OSSL_)/.test(code)) {
        return { message: e.message, retryable: false };
      }
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
