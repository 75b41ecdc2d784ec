import { DeadlineExceededError, InvalidArgumentError } from "@baton/core";

/** The signal of some bounded work, and the error to throw when the bound, not the caller, stopped it. */
export interface Deadline {
  /** The caller's signal bounded by the timeout; undefined when there is neither. */
  readonly signal: AbortSignal | undefined;
  /** A {@link DeadlineExceededError} when the timeout fired (and the caller did not abort first), else undefined. */
  exceeded(cause: unknown): DeadlineExceededError | undefined;
}

/**
 * Bounds work by `timeoutMs` (0 or undefined: no bound) on top of the caller's `signal`.
 *
 * @throws {InvalidArgumentError} when `timeoutMs` is negative or not finite.
 */
export function deadline(timeoutMs: number | undefined, signal: AbortSignal | undefined): Deadline {
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs >= 0)) {
    throw new InvalidArgumentError(`timeoutMs must be a finite number >= 0 (0: none), not ${String(timeoutMs)}`);
  }
  const timeout = timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined;
  const signals = [signal, timeout].filter((s): s is AbortSignal => s !== undefined);
  return {
    signal: signals.length <= 1 ? signals[0] : AbortSignal.any(signals),
    exceeded: (cause) =>
      timeout?.aborted && !signal?.aborted
        ? new DeadlineExceededError(`deadline of ${timeoutMs} ms exceeded`, { cause })
        : undefined,
  };
}
