import { type CallOptions as ConnectCallOptions, type ContextValues, createContextValues } from "@connectrpc/connect";
import { type ConnectionBase, idleTimeoutKey } from "./connection-base.js";
import { type BatonError, toBatonError } from "./errors.js";

/** Options every Baton call takes. */
export interface CallOptions {
  /** Cancels the call; the call then throws `CanceledError`. */
  signal?: AbortSignal;
  /** Deadline of this unary call in ms, overriding the client default; 0: none. */
  timeoutMs?: number;
  /** Extra request headers for this call. */
  headers?: Record<string, string>;
}

/** Options of a streaming call. */
export interface StreamCallOptions {
  /** Cancels the stream; iterating it then throws `CanceledError`. */
  signal?: AbortSignal;
  /**
   * How long the stream may go without a message before it fails with
   * `DeadlineExceededError`, in ms, overriding the client's `idleTimeoutMs`; 0: no limit.
   */
  idleTimeoutMs?: number;
  /** Extra request headers for this stream. */
  headers?: Record<string, string>;
}

/** Where a client finds its server when the options name no address. */
export interface ClientDefaults {
  /** The documented default address, e.g. `127.0.0.1:50051`. */
  address: string;
  /** The environment variable that overrides the default address, e.g. `GRPC_ADDR`. */
  env?: string;
  /** Turns the environment variable's value into an address (e.g. a socket path into `unix://`). */
  fromEnv?: (value: string) => string;
  /** Connection defaults of this kind of client, e.g. `{ httpVersion: "1.1" }` for REST. */
  connection?: {
    /**
     * The HTTP version the client speaks unless the user sets one: `"1.1"` for REST
     * clients, `"2"` (h2c or ALPN `h2`) for gRPC. Defaults to the {@link Connection}'s own.
     */
    httpVersion?: "1.1" | "2";
  };
}

/** A client's connection, and whether the client owns (and closes) it. */
export interface ResolvedConnection<C extends ConnectionBase> {
  /** The connection calls go through. */
  connection: C;
  /** True when the client made the connection and closes it; false for a shared one. */
  owned: boolean;
}

/**
 * What every Baton client is, on either platform: it owns (or shares) one connection, and
 * closes it with {@link BatonClientBase.close} or `await using`. Clients extend
 * `BatonClient`, the build's subclass.
 */
export abstract class BatonClientBase<C extends ConnectionBase = ConnectionBase> {
  /** The connection calls go through. */
  readonly connection: C;
  readonly #owned: boolean;

  /** @param resolved the connection, and whether this client closes it. */
  protected constructor(resolved: ResolvedConnection<C>) {
    this.connection = resolved.connection;
    this.#owned = resolved.owned;
  }

  /** Closes the connection if this client made it (a shared one stays open). Idempotent. */
  async close(): Promise<void> {
    if (this.#owned) await this.connection.close();
  }

  /** `await using client = new XClient()` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Converts Baton call options into connect-es call options. */
export function connectCallOptions(
  options: CallOptions & StreamCallOptions = {},
  contextValues?: ContextValues,
): ConnectCallOptions {
  let ctx = contextValues;
  if (options.idleTimeoutMs !== undefined)
    ctx = (ctx ?? createContextValues()).set(idleTimeoutKey, options.idleTimeoutMs);
  return {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
    ...(ctx ? { contextValues: ctx } : {}),
  };
}

/** Maps a generic {@link BatonError} to a more specific one (e.g. a budget error). */
export type ErrorMapper = (err: BatonError) => BatonError;

/**
 * Awaits a call and rethrows whatever it throws as a {@link BatonError}: the one place a
 * client translates transport errors.
 */
export function callOrThrow<T>(call: () => Promise<T>, map?: ErrorMapper): Promise<T> {
  let pending: Promise<T>;
  try {
    pending = call();
  } catch (err) {
    pending = Promise.reject(err);
  }
  return pending.catch(map === undefined ? rethrowBaton : (err: unknown) => Promise.reject(map(toBatonError(err))));
}

/** Rethrows a failure as a {@link BatonError}. */
function rethrowBaton(err: unknown): never {
  throw toBatonError(err);
}

/**
 * Iterates a server stream, rethrowing failures as {@link BatonError}s. Written out rather
 * than an async generator: it sits on every message, and a generator layer costs promises
 * and a resumption per message; this one passes each `next()` through, with the mapping
 * attached to it. `return` reaches the stream (a `break` cancels the call).
 */
export function streamOrThrow<T>(stream: AsyncIterable<T>, map?: ErrorMapper): AsyncIterableIterator<T> {
  let it: AsyncIterator<T> | undefined;
  const fail = (err: unknown): never => {
    const be = toBatonError(err);
    throw map ? map(be) : be;
  };
  const iterator: AsyncIterableIterator<T> = {
    next() {
      try {
        it ??= stream[Symbol.asyncIterator]();
        return it.next().then(undefined, fail) as Promise<IteratorResult<T>>;
      } catch (err) {
        return Promise.reject(err).then(undefined, fail);
      }
    },
    async return(): Promise<IteratorResult<T>> {
      await it?.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
