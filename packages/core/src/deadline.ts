import { DeadlineExceededError, InvalidArgumentError } from "./errors.js";

/**
 * The longest timeout a Baton option takes, in ms: 99,999,999 (about 27.8 hours). gRPC's
 * `grpc-timeout` header carries at most 8 digits, and connect-es writes it in ms, so a
 * longer call deadline is refused by gRPC servers as a protocol error; Node.js timers cannot
 * wait past 2^31-1 ms either (a longer one fires after 1 ms). Longer options are refused
 * with a clear error instead of failing at once.
 */
export const MAX_TIMEOUT_MS = 99_999_999;

/**
 * Checks a timeout option: a finite number of ms from 0 (no limit) to {@link MAX_TIMEOUT_MS}.
 *
 * @param name the option's name, for the error message (`timeoutMs`, `idleTimeoutMs`, ...).
 * @throws {InvalidArgumentError} when `value` is negative, not finite, not a number or over
 *   {@link MAX_TIMEOUT_MS}.
 */
export function checkTimeout(name: string, value: unknown): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > MAX_TIMEOUT_MS) {
    throw new InvalidArgumentError(
      `${name} must be a number of ms from 0 (no limit) to ${MAX_TIMEOUT_MS}, not ${String(value)}`,
    );
  }
}

/** The signal of some bounded work, and the error to throw when the bound, not the caller, stopped it. */
export interface Deadline {
  /** The caller's signal bounded by the timeout; undefined when there is neither. */
  readonly signal: AbortSignal | undefined;
  /**
   * A {@link DeadlineExceededError} (with `message`, or one naming the timeout) when the
   * timeout fired and the caller did not abort first; else undefined, and the caller
   * rethrows what it caught.
   */
  exceeded(cause: unknown, message?: string): DeadlineExceededError | undefined;
}

/**
 * Bounds work by `timeoutMs` (0 or undefined: no bound) on top of the caller's `signal`: the
 * one way every client times a wait that spans several calls (a result wait, a job wait, an
 * invocation stream).
 *
 * @example
 * const d = deadline(options.timeoutMs, options.signal);
 * try {
 *   for await (const ev of follow({ signal: d.signal })) if (done(ev)) return ev;
 * } catch (err) {
 *   throw d.exceeded(err, `no result within ${options.timeoutMs} ms`) ?? err;
 * }
 * @throws {InvalidArgumentError} when `timeoutMs` is not a number of ms from 0 to {@link MAX_TIMEOUT_MS}.
 */
export function deadline(timeoutMs: number | undefined, signal: AbortSignal | undefined): Deadline {
  checkTimeout("timeoutMs", timeoutMs);
  // No bound (most calls): nothing to make.
  if (!timeoutMs) return signal === undefined ? UNBOUNDED : { signal, exceeded: neverExceeded };
  // AbortSignal.timeout takes whole milliseconds only.
  const timeout = timeoutMs ? AbortSignal.timeout(Math.ceil(timeoutMs)) : undefined;
  const signals = [signal, timeout].filter((s): s is AbortSignal => s !== undefined);
  return {
    signal: signals.length <= 1 ? signals[0] : AbortSignal.any(signals),
    exceeded: (cause, message) =>
      timeout?.aborted && !signal?.aborted
        ? new DeadlineExceededError(message ?? `deadline of ${timeoutMs} ms exceeded`, { cause })
        : undefined,
  };
}

const neverExceeded = (): undefined => undefined;
/** The deadline of work with neither a timeout nor a signal. */
const UNBOUNDED: Deadline = Object.freeze({ signal: undefined, exceeded: neverExceeded });
