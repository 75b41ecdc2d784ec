import {
  type Connection,
  connectCallOptions,
  InvalidArgumentError,
  type ResumableStreamOptions,
  type StreamCallOptions,
} from "@baton/core";
import type { CallOptions as ConnectCallOptions } from "@connectrpc/connect";

/** Heartbeat period of bidi streams and agents when the options give none, ms (the seed's 10 s). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 10_000;

/** The seed's stream settings, as {@link BaaahtClientOptions} carries them. */
export interface StreamSettingsInput {
  /** Longest wait between stream reconnect attempts, ms. */
  reconnectIntervalMs?: number | undefined;
  /** Consecutive stream reconnect attempts before giving up; 0: unlimited. */
  maxReconnectAttempts?: number | undefined;
  /** Heartbeat period of bidi streams and agents, ms. */
  heartbeatIntervalMs?: number | undefined;
}

/** What the resources need to run streams: the heartbeat period and the one resume helper. */
export interface StreamSettings {
  /** Heartbeat period of bidi streams and agents, ms (> 0). */
  readonly heartbeatIntervalMs: number;
  /** The connection's {@link Connection.resumable}, with the seed's reconnect settings where given. */
  resumable<T, C>(
    options: Pick<ResumableStreamOptions<T, C>, "open" | "cursorAfter" | "keyOf" | "signal" | "endless">,
  ): AsyncIterable<T>;
}

function check(value: number | undefined, what: string, ok: (v: number) => boolean, rule: string): void {
  if (value !== undefined && !(typeof value === "number" && ok(value))) {
    throw new InvalidArgumentError(`${what} must be ${rule}, not ${String(value)}`);
  }
}

/**
 * Stream settings over a connection: reconnects use the connection's backoff and logger
 * (through `connection.resumable`), with `reconnectIntervalMs` as the longest wait and
 * `maxReconnectAttempts` as the limit when they are given.
 *
 * @throws {InvalidArgumentError} on a negative or non-finite setting, or a heartbeat of 0.
 */
export function streamSettings(connection: Connection, input: StreamSettingsInput): StreamSettings {
  const { reconnectIntervalMs, maxReconnectAttempts, heartbeatIntervalMs } = input;
  check(reconnectIntervalMs, "reconnectIntervalMs", (v) => Number.isFinite(v) && v >= 0, "a finite number >= 0");
  check(maxReconnectAttempts, "maxReconnectAttempts", (v) => Number.isInteger(v) && v >= 0, "a whole number >= 0");
  check(heartbeatIntervalMs, "heartbeatIntervalMs", (v) => Number.isFinite(v) && v > 0, "a finite number > 0");
  const policy = connection.retryPolicy;
  const overrides = {
    ...(reconnectIntervalMs === undefined
      ? {}
      : {
          backoff: {
            initialBackoffMs: Math.min(50, policy.initialBackoffMs, reconnectIntervalMs),
            maxBackoffMs: reconnectIntervalMs,
            multiplier: policy.multiplier,
            jitter: policy.jitter,
          },
        }),
    ...(maxReconnectAttempts === undefined ? {} : { maxReconnects: maxReconnectAttempts }),
  };
  return {
    heartbeatIntervalMs: heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
    resumable: (options) => connection.resumable({ ...options, ...overrides }),
  };
}

/**
 * The connect-es options of one attempt of a stream: the caller's headers and idle
 * timeout, and the attempt's own signal (the caller's signal ends the whole stream, not
 * just one attempt, so it is not passed here).
 */
export function streamCall(options: StreamCallOptions, signal: AbortSignal): ConnectCallOptions {
  const { signal: _whole, ...rest } = options;
  return { ...connectCallOptions(rest), signal };
}
