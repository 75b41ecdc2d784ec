import type { Logger } from "@baton/core";
import { type RetryOptions, resumableStream, streamOrThrow } from "@baton/core";
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";

/** Stream settings a client passes to its resources. */
export interface StreamSettings {
  /** Heartbeat period of bidi streams, ms. */
  heartbeatIntervalMs: number;
  /** Longest wait between reconnect attempts, ms. */
  reconnectIntervalMs: number;
  /** Consecutive reconnect attempts before giving up; 0 = unlimited. */
  maxReconnectAttempts: number;
  /** Where reconnects are logged. */
  logger: Logger;
}

/** The backoff for stream reconnects: starts small, never waits longer than the interval. */
export function reconnectBackoff(s: StreamSettings): RetryOptions {
  return { initialBackoffMs: Math.min(100, s.reconnectIntervalMs), maxBackoffMs: s.reconnectIntervalMs };
}

/** A time as a Date, Unix ms or protobuf Timestamp, converted to a Timestamp. */
export type TimeInput = Date | number | Timestamp;

/** Converts a {@link TimeInput} to a protobuf Timestamp. */
export function toTimestamp(t: TimeInput): Timestamp {
  if (t instanceof Date) return timestampFromMs(t.getTime());
  if (typeof t === "number") return timestampFromMs(t);
  return t;
}

/** Milliseconds to int64 nanoseconds. */
export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms)) * 1_000_000n;
}

/**
 * A server stream of items with ids and timestamps that resumes after a dropped connection
 * from the last item's time and drops duplicates by id.
 */
export function resumableByTime<T extends { id: string; timestamp?: Timestamp | undefined }>(
  open: (from: Timestamp, signal: AbortSignal) => AsyncIterable<T>,
  start: Timestamp,
  settings: StreamSettings,
  signal: AbortSignal | undefined,
): AsyncIterable<T> {
  const stream = resumableStream<T, Timestamp>({
    open: (cursor, sig) => open(cursor ?? start, sig),
    cursorAfter: (item) => item.timestamp ?? start,
    keyOf: (item) => item.id,
    maxReconnects: settings.maxReconnectAttempts,
    backoff: reconnectBackoff(settings),
    logger: settings.logger,
    ...(signal ? { signal } : {}),
  });
  return {
    [Symbol.asyncIterator]: () => streamOrThrow(stream)[Symbol.asyncIterator](),
  };
}

/** Re-export so resources need one import. */
export { timestampMs };
