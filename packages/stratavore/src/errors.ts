import { type BatonError, toBatonError } from "@baton/core";
import { findDetails } from "@baton/core/errors";
import { type ErrorInfo, ErrorInfoSchema } from "@baton/wire/stratavore";

/**
 * The seed's `stratavore.v1.ErrorInfo` a Stratavore server attached to an error (`code`,
 * `message`, `details`, `request_id`), or undefined when it sent none.
 *
 * @example
 * ```ts
 * catch (err) { console.log(stratavoreErrorInfo(err)?.code, err.requestId); }
 * ```
 */
export function stratavoreErrorInfo(err: unknown): ErrorInfo | undefined {
  const e = toBatonError(err);
  return findDetails(e.details, ErrorInfoSchema)[0];
}

/**
 * Surfaces the seed's ErrorInfo on the thrown error: its `request_id` becomes `requestId`
 * (where no header gave one) and its `code` and `details` the `errorInfo` reason and metadata
 * (where no `google.rpc.ErrorInfo` was sent). Same class, same everything else.
 */
export function surfaceErrorInfo(err: BatonError): BatonError {
  const info = findDetails(err.details, ErrorInfoSchema)[0];
  if (!info) return err;
  const needsId = err.requestId === undefined && info.requestId !== "";
  const needsInfo = err.errorInfo === undefined;
  if (!needsId && !needsInfo) return err;
  const Ctor = err.constructor as new (message: string, init: object) => BatonError;
  const copy = new Ctor(err.message, {
    code: err.code,
    ...(err.status === undefined ? {} : { status: err.status }),
    requestId: needsId ? info.requestId : err.requestId,
    retryable: err.retryable,
    ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }),
    details: err.details,
    cause: err.cause,
    ...(err.detail === undefined ? {} : { detail: err.detail }),
    ...(err.errors === undefined ? {} : { errors: err.errors }),
    metadata: err.metadata,
    errorInfo: needsInfo
      ? { $typeName: "google.rpc.ErrorInfo", reason: info.code, domain: "stratavore.v1", metadata: { ...info.details } }
      : err.errorInfo,
    ...("limit" in err && typeof err.limit === "string" ? { limit: err.limit } : {}),
  });
  return copy;
}
