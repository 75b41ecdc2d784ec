/**
 * The limits and timeouts the server enforces on every connection and request, whatever the
 * protocol. Each has a default (below) and a `ServerOptions` field / `baton-server` flag.
 */
export interface ConnectionLimits {
  /**
   * How long a connection may stay without an open request: a connection that never sends a
   * byte, an HTTP/1.1 keep-alive connection between requests, an HTTP/2 session with no open
   * stream. It is then closed (HTTP/2: GOAWAY). Open streams (event follows) are never cut by
   * it. Default 30 000 ms (baaaht's connection timeout).
   */
  connectionTimeoutMs: number;
  /** How long a request's headers may take to arrive in full (slowloris). Default 10 000 ms. */
  headerTimeoutMs: number;
  /**
   * How long the body of a request may take to arrive in full, for REST requests and unary or
   * server-streaming RPCs (client and bidi streams send for as long as the call lives). A late
   * body fails with DEADLINE_EXCEEDED (REST: 408) and the request is cut. Default 60 000 ms.
   */
  requestTimeoutMs: number;
  /** Open connections at most, over all of a listener's addresses; later ones are closed at once. Default 10 000. */
  maxConnections: number;
  /**
   * The most bytes buffered for one response that its client does not read. RPC streams
   * stop producing as soon as the socket's buffer is above its high-water mark; a response
   * whose buffer stays above the mark for {@link streamStallTimeoutMs}, or grows past this
   * bound, is cut. Default 8 MiB.
   */
  maxStreamBufferBytes: number;
  /** How long a response may wait for its client to read before it is cut. Default 30 000 ms. */
  streamStallTimeoutMs: number;
}

/** The defaults of {@link ConnectionLimits}. */
export const DEFAULT_CONNECTION_LIMITS: Readonly<ConnectionLimits> = Object.freeze({
  connectionTimeoutMs: 30_000,
  headerTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  maxConnections: 10_000,
  maxStreamBufferBytes: 8 * 1024 * 1024,
  streamStallTimeoutMs: 30_000,
});

/** The largest URL plus headers of a request, in bytes (Node's HTTP/1.1 default); larger ones get 431. */
export const MAX_HEADER_BYTES = 16 * 1024;

/**
 * The largest declared body left unread by a refused HTTP/1.1 request that the server still
 * reads and discards to keep the connection usable; larger (or chunked) ones get
 * `Connection: close`.
 */
export const MAX_DRAIN_BYTES = 4 * 1024 * 1024;

/** Largest delay a Node timer takes. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Fills in the defaults and checks every value.
 *
 * @throws {Error} naming the setting, for a value that is not an integer in range.
 */
export function resolveConnectionLimits(given: Partial<ConnectionLimits> = {}): ConnectionLimits {
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...stripUndefined(given) };
  for (const key of ["connectionTimeoutMs", "headerTimeoutMs", "requestTimeoutMs", "streamStallTimeoutMs"] as const) {
    checkInteger(key, limits[key], MAX_TIMER_MS);
  }
  checkInteger("maxConnections", limits.maxConnections, 2 ** 31 - 1);
  checkInteger("maxStreamBufferBytes", limits.maxStreamBufferBytes, Number.MAX_SAFE_INTEGER);
  return limits;
}

function checkInteger(name: string, value: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < 1 || value > max)
    throw new Error(`${name} must be an integer from 1 to ${max}, got ${value}`);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
