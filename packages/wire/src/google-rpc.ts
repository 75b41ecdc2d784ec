/**
 * `@baton/wire/google-rpc`: the generated `google.rpc` error detail messages (`ErrorInfo`,
 * `RetryInfo`, `BadRequest`, `PreconditionFailure`, ...) that gRPC servers put in a status's
 * details and clients decode.
 *
 * @packageDocumentation
 */
export * from "./gen/google-rpc/google/rpc/error_details_pb.js";
