import type { CallOptions as ConnectCallOptions, ContextValues } from "@connectrpc/connect";
import { Connection, type ConnectionOptions } from "./connection.js";
import { type BatonError, toBatonError } from "./errors.js";

/** Options every Baton call takes. */
export interface CallOptions {
  /** Cancels the call; the call then throws `CanceledError`. */
  signal?: AbortSignal;
  /** Deadline of this call in ms, overriding the client default. */
  timeoutMs?: number;
  /** Extra request headers for this call. */
  headers?: Record<string, string>;
}

/**
 * Options of a Baton client: either everything a {@link Connection} needs, or an
 * existing connection to share (the client then does not close it).
 */
export type ClientOptions = ConnectionOptions | { connection: Connection };

/** Resolves client options to a connection, and whether the client owns (and closes) it. */
export function resolveConnection(options: ClientOptions): { connection: Connection; owned: boolean } {
  if ("connection" in options) return { connection: options.connection, owned: false };
  return { connection: new Connection(options), owned: true };
}

/** Converts Baton call options into connect-es call options. */
export function connectCallOptions(options: CallOptions = {}, contextValues?: ContextValues): ConnectCallOptions {
  return {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
    ...(contextValues ? { contextValues } : {}),
  };
}

/** Maps a generic {@link BatonError} to a more specific one (e.g. a budget error). */
export type ErrorMapper = (err: BatonError) => BatonError;

/**
 * Awaits a call and rethrows whatever it throws as a {@link BatonError}: the one place a
 * client translates transport errors.
 */
export async function callOrThrow<T>(call: () => Promise<T>, map?: ErrorMapper): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const be = toBatonError(err);
    throw map ? map(be) : be;
  }
}

/** Iterates a server stream, rethrowing failures as {@link BatonError}s. */
export async function* streamOrThrow<T>(
  stream: AsyncIterable<T>,
  map?: ErrorMapper,
): AsyncGenerator<T, void, undefined> {
  try {
    yield* stream;
  } catch (err) {
    const be = toBatonError(err);
    throw map ? map(be) : be;
  }
}
