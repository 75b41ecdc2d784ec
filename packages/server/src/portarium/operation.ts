import type { operations, paths } from "@baton/wire/portarium";
import type { InvocationSink } from "./invocation-runner.js";
import type { PortariumClaims } from "./jwt.js";

/** The id of an operation of the Portarium OpenAPI document. */
export type OperationId = keyof operations;

/** The methods an OpenAPI path item may declare, as the generated `paths` spell them. */
export type PathMethod = "get" | "put" | "post" | "delete" | "patch";

/** The methods `path` declares an operation for. */
export type MethodOf<P extends keyof paths> = {
  [M in PathMethod]: paths[P][M] extends undefined ? never : M;
}[PathMethod];

type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** The operation id whose definition is `Op` (the generated `paths` refer to `operations[id]`). */
export type IdOf<Op> = { [K in OperationId]: Same<operations[K], Op> extends true ? K : never }[OperationId];

type JsonOf<T> = T extends { content: { "application/json": infer B } } ? B : undefined;
type OrEmpty<T> = [T] extends [never] ? Record<string, never> : [T] extends [undefined] ? Record<string, never> : T;

/** An operation's path parameters. */
export type PathParamsOf<Op> = Op extends { parameters: { path?: infer P } } ? OrEmpty<NonNullable<P>> : never;
/** An operation's query parameters, coerced to their schema types. */
export type QueryOf<Op> = Op extends { parameters: { query?: infer Q } } ? OrEmpty<NonNullable<Q>> : never;
/** An operation's JSON request body (`undefined` when it takes none). */
export type BodyOf<Op> = Op extends { requestBody: infer R } ? JsonOf<R> : undefined;
/** The JSON body of an operation's success response (`undefined` for 204). */
export type SuccessOf<Op> = Op extends { responses: infer R }
  ? JsonOf<R[Extract<keyof R, 200 | 201 | 202 | 204>]>
  : never;

/** A validated request, as an operation's handler sees it. */
export interface OperationRequest<Op> {
  /** Path parameters, percent-decoded. */
  path: PathParamsOf<Op>;
  /** Query parameters, coerced to their schema types and validated. */
  query: QueryOf<Op>;
  /** The parsed JSON body, validated against the document. */
  body: BodyOf<Op>;
  /** The verified token's claims (absent only on operations that take no token). */
  claims: PortariumClaims | undefined;
  /** Who acts: the token's subject (`anonymous` on operations that take no token). */
  userId: string;
  /** The base URL the request came in on, for the URLs a response names. */
  origin: string;
}

/** A JSON answer: the success status, its body, and extra response headers. */
export interface JsonReply<B> {
  /** The HTTP status (the operation's declared success status). */
  status: number;
  /** The JSON body; `undefined` sends none (204). */
  body: B;
  /** Extra response headers. */
  headers?: Record<string, string>;
}

/**
 * A server-sent event stream: `subscribe` is called with the id of the last event the
 * client saw (from `Last-Event-ID`, 0 for none), delivers events to the sink, and returns
 * the unsubscribe function. It may throw an {@link HttpProblem} before delivering anything.
 */
export interface EventStreamReply {
  /** Starts delivering events; returns the unsubscribe function. */
  subscribe(afterId: number, sink: InvocationSink): () => void;
}

/** What a handler answers. Refusals are thrown as `HttpProblem`s. */
export type Reply<B> = JsonReply<B> | EventStreamReply;

/** Runs one operation on a validated request. */
export type OperationHandler<Op> = (req: OperationRequest<Op>) => Reply<SuccessOf<Op>> | Promise<Reply<SuccessOf<Op>>>;

/** One entry of the operation table: which request it serves, and how. */
export interface OperationEntry {
  /** The document's operation id. */
  readonly operationId: OperationId;
  /** Upper-case HTTP method. */
  readonly method: string;
  /** The document's path template, e.g. `/v1/workspaces/{workspaceId}/runs`. */
  readonly path: string;
  /** The handler; the router gives it requests already matched and validated. */
  readonly handler: OperationHandler<unknown>;
}

/**
 * Declares one entry of the operation table. The compiler checks that `path` declares
 * `method` and that `operationId` is that operation, and types the handler's request and
 * reply from the generated OpenAPI types.
 *
 * @example
 * operation("get", "/v1/workspaces/{workspaceId}/runs/{runId}", "getRun", (r) => ok(runs.get(r.path.workspaceId, r.path.runId)));
 */
export function operation<P extends keyof paths, M extends MethodOf<P>>(
  method: M,
  path: P,
  operationId: IdOf<paths[P][M]>,
  handler: OperationHandler<paths[P][M]>,
): OperationEntry {
  return {
    operationId,
    method: method.toUpperCase(),
    path,
    // The table holds every operation's handler in one array; the router hands each one the
    // request it validated against that same operation, so the erased type is sound.
    handler: handler as unknown as OperationHandler<unknown>,
  };
}

/** A 200 answer. */
export const ok = <B>(body: B): JsonReply<B> => ({ status: 200, body });
/** A 201 answer. */
export const created = <B>(body: B): JsonReply<B> => ({ status: 201, body });
/** A 202 answer. */
export const accepted = <B>(body: B): JsonReply<B> => ({ status: 202, body });
/** A 204 answer. */
export const noContent = (): JsonReply<undefined> => ({ status: 204, body: undefined });
