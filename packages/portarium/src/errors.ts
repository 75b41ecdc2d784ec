import {
  type BatonError,
  type BatonErrorInit,
  ConflictError,
  FailedPreconditionError,
  type FieldErrors,
  InternalError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  parseRetryAfter,
  ResourceExhaustedError,
  requestIdOf,
  UnauthenticatedError,
  UnavailableError,
  UnimplementedError,
} from "@baton/core";
import type { Middleware } from "openapi-fetch";

/** The RFC 9457 problem+json body Portarium answers errors with. */
export interface ProblemDetails {
  /** URI identifying the problem type. */
  type: string;
  /** Short summary of the problem type. */
  title: string;
  /** The HTTP status. */
  status: number;
  /** Explanation of this occurrence. */
  detail?: string;
  /** URI of this occurrence. */
  instance?: string;
  /** Per-field validation messages. */
  errors?: Record<string, string[]>;
}

function classFor(status: number): typeof BatonError {
  switch (status) {
    case 400:
    case 413:
    case 415:
    case 422:
      return InvalidArgumentError;
    case 401:
      return UnauthenticatedError;
    case 403:
      return PermissionDeniedError;
    case 404:
    case 410:
      return NotFoundError;
    case 409:
      return ConflictError;
    case 412:
      return FailedPreconditionError;
    case 429:
      return ResourceExhaustedError;
    case 405:
    case 501:
      return UnimplementedError;
    case 502:
    case 503:
    case 504:
      return UnavailableError;
    default:
      return status >= 500 ? InternalError : InvalidArgumentError;
  }
}

function asFieldErrors(value: unknown): FieldErrors | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const out: FieldErrors = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = Array.isArray(v) ? v.map(String) : [String(v)];
  }
  return out;
}

/**
 * Turns an HTTP error response into the matching Baton error: 400/422 `InvalidArgumentError`
 * (with the per-field `errors`), 401 `UnauthenticatedError`, 403 `PermissionDeniedError`,
 * 404 `NotFoundError`, 409 `ConflictError`, 429 `ResourceExhaustedError`, 500
 * `InternalError`, 502/503/504 `UnavailableError`. `type`, `title` and `detail` come from
 * the problem+json body when there is one; `requestId` from `x-request-id` or
 * `x-correlation-id`;
 * `retryAfterMs` from `Retry-After`.
 */
export function problemToError(status: number, body: unknown, headers: Headers = new Headers()): BatonError {
  const p = (typeof body === "object" && body !== null ? body : {}) as Partial<Record<keyof ProblemDetails, unknown>>;
  const title = typeof p.title === "string" ? p.title : undefined;
  const detail = typeof p.detail === "string" ? p.detail : typeof body === "string" && body ? body : undefined;
  const Cls = classFor(status);
  const retryAfterMs = parseRetryAfter(headers);
  const requestId = requestIdOf(headers);
  const errors = asFieldErrors(p.errors);
  const init: BatonErrorInit = {
    status,
    metadata: headers,
    details: body === undefined ? [] : [body],
    ...(typeof p.type === "string" ? { type: p.type } : {}),
    ...(title !== undefined ? { title } : {}),
    ...(detail !== undefined ? { detail } : {}),
    ...(errors ? { errors } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    ...(requestId !== undefined ? { requestId } : {}),
  };
  const message = [title ?? `HTTP ${status}`, detail].filter(Boolean).join(": ");
  return new Cls(message, init);
}

/**
 * openapi-fetch middleware that throws the matching Baton error (see {@link problemToError})
 * for any non-2xx response, for users of `portarium.raw` who prefer exceptions to
 * `{ data, error }`: `portarium.raw.use(throwOnProblem)`.
 */
export const throwOnProblem: Middleware = {
  async onResponse({ response }) {
    if (response.ok) return undefined;
    const text = await response.clone().text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: the text is the detail
    }
    throw problemToError(response.status, body, response.headers);
  },
};
