import {
  BatonError,
  type CallOptions,
  type Connection,
  deadline,
  InvalidArgumentError,
  type Page,
  ProtocolError,
  required,
  toBatonError,
} from "@baton/core";
import { problemToError } from "./errors.js";
import type { CallResponse, PortariumCalls } from "./json-calls.js";
import type { PortariumRaw } from "./raw.js";

/** Options every Portarium call takes. */
export interface PortariumCallOptions extends CallOptions {
  /** The workspace of this call, overriding the client's. */
  workspaceId?: string;
  /**
   * `Idempotency-Key` of a state-changing call: makes it safe to retry, and a repeat with
   * the same key answers the first result. `approvals.decide` and `agentActions.execute`
   * generate one when none is given.
   */
  idempotencyKey?: string;
}

/** Options of a list call: page size and where to start, plus the call options. */
export interface ListOptions extends PortariumCallOptions {
  /** Items per page (1-200, server default 50). */
  limit?: number;
  /** Start after this cursor (a previous page's `nextCursor`). */
  cursor?: string;
}

/** The page part of a list request's query. */
export interface PageQuery {
  /** Items per page. */
  limit?: number;
  /** Where the page starts. */
  cursor?: string;
}

/** What the resources of one client share. */
export interface Scope {
  /** The openapi-fetch client (streams go through it). */
  readonly raw: PortariumRaw;
  /**
   * What JSON calls go through: the lean calls over the connection's exchange, or `raw`
   * when there is middleware or a custom `fetch` (those take web `Request`s).
   */
  readonly calls: PortariumCalls;
  /** The client's default workspace. */
  readonly workspaceId: string | undefined;
  /** The connection: default `timeoutMs` and `idleTimeoutMs`, resumable streams. */
  readonly connection: Connection;
}

/**
 * The part of an openapi-fetch init every request of a call carries: its deadline and
 * headers. (A type, not an interface: openapi-fetch wants an index-signature-compatible init.)
 */
export type CallInit = {
  /** The caller's signal bounded by the call's deadline. */
  signal?: AbortSignal;
  /** The call's headers, `Idempotency-Key` included. */
  headers: Record<string, string>;
};

/** The params of a workspace-scoped path. */
type WorkspacePath<P> = P & { workspaceId: string };

/** One request of a call, as a resource builds it. */
export interface CallRequest {
  /** The client's JSON calls ({@link Scope.calls}), typed as openapi-fetch's. */
  readonly raw: PortariumCalls;
  /** The call's workspace. Reading it fails the call with InvalidArgumentError when there is none. */
  readonly workspaceId: string;
  /** Deadline signal and headers, to spread into the openapi-fetch init. */
  readonly init: CallInit;
  /**
   * The openapi-fetch init of a workspace-scoped path: `path` plus the call's `workspaceId`,
   * the optional `query`, the deadline signal and the headers.
   */
  at<P extends Record<string, string>>(path: P): CallInit & { params: { path: WorkspacePath<P> } };
  /** The same, with a query. */
  at<P extends Record<string, string>, Q extends object>(
    path: P,
    query: Q,
  ): CallInit & { params: { path: WorkspacePath<P>; query: Q } };
}

/** What openapi-fetch answers: `data` on success, `error` (the parsed body) otherwise. */
export interface RestResult<T> {
  /** The parsed body of a success. */
  data?: T;
  /** The parsed body of a failure (problem+json, or text). */
  error?: unknown;
  /** The response (its status and headers; the body is in `data` or `error`). */
  response: CallResponse;
}

/** Sends the request of one call. */
export type Send<T> = (request: CallRequest) => Promise<RestResult<T>>;

/**
 * The workspace of a call: its own, else the client's.
 *
 * @throws {InvalidArgumentError} when neither names one.
 */
export function workspaceOf(scope: Scope, options: { workspaceId?: string }): string {
  const ws = options.workspaceId ?? scope.workspaceId;
  if (ws === undefined) {
    throw new InvalidArgumentError("no workspaceId: pass one to new PortariumClient({ workspaceId }) or to the call");
  }
  return ws;
}

/** `options` with a generated `Idempotency-Key` unless they carry one. */
export function withIdempotencyKey<O extends PortariumCallOptions>(options: O): O {
  return options.idempotencyKey === undefined ? { ...options, idempotencyKey: crypto.randomUUID() } : options;
}

/** `options` in `workspaceId` unless they name a workspace themselves. */
export function inWorkspace<O extends { workspaceId?: string }>(options: O, workspaceId: string | undefined): O {
  return workspaceId === undefined || options.workspaceId !== undefined ? options : { ...options, workspaceId };
}

/** The page query of a list: its `limit` and the page's `cursor`. */
export function pageQuery(options: ListOptions, cursor: string | undefined): PageQuery {
  return {
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
    ...(cursor !== undefined ? { cursor } : {}),
  };
}

/**
 * Runs one call: resolves its workspace (lazily, so a call that needs none does not fail),
 * bounds it by its `timeoutMs` (default the connection's; 0: none), sends its headers and
 * `Idempotency-Key`, and turns every failure into a Baton error: problem+json into the
 * matching class, a body that is not JSON into {@link ProtocolError}, the deadline into
 * `DeadlineExceededError`. Always a promise: nothing here throws synchronously.
 */
async function perform<T>(scope: Scope, options: PortariumCallOptions, send: Send<T>): Promise<RestResult<T>> {
  const { signal, exceeded } = deadline(options.timeoutMs ?? scope.connection.options.timeoutMs, options.signal);
  const headers: Record<string, string> = { ...options.headers };
  if (options.idempotencyKey !== undefined) headers["idempotency-key"] = options.idempotencyKey;
  // Objects built whole, not as a spread copy plus a property: on Node 20 (V8 11) adding a
  // property to a spread copy takes a slow path that costs ~50 times a plain literal.
  const init: CallInit = signal ? { signal, headers } : { headers };
  // One implementation of both `at` overloads: the query is there exactly when given.
  const at = (path: Record<string, string>, query?: object) => {
    const full: Record<string, string> = Object.assign({}, path);
    full.workspaceId = workspaceOf(scope, options);
    const params = query ? { path: full, query } : { path: full };
    return signal ? { signal, headers, params } : { headers, params };
  };
  const request: CallRequest = {
    raw: scope.calls,
    get workspaceId() {
      return workspaceOf(scope, options);
    },
    init,
    at: at as CallRequest["at"],
  };
  try {
    const r = await send(request);
    if (!r.response.ok) throw problemToError(r.response.status, r.error, r.response.headers);
    return r;
  } catch (err) {
    if (err instanceof BatonError) throw err;
    if (err instanceof SyntaxError) {
      throw new ProtocolError(`the server's response is not JSON: ${err.message}`, { cause: err });
    }
    throw exceeded(err) ?? toBatonError(err);
  }
}

/**
 * One call whose response has a body: the body.
 *
 * @throws {ProtocolError} when the server answered success without a body.
 */
export async function call<T>(scope: Scope, options: PortariumCallOptions, send: Send<T>): Promise<T> {
  return required((await perform(scope, options, send)).data, "body");
}

/** One call whose success has no body (204). */
export async function callEmpty(scope: Scope, options: PortariumCallOptions, send: Send<unknown>): Promise<void> {
  await perform(scope, options, send);
}

/** Pages of a list call, fetched with {@link call}. */
export type FetchPage<T> = (request: CallRequest, query: PageQuery) => Promise<RestResult<Page<T>>>;
