import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { type BatonError, Code, InvalidArgumentError, toBatonError } from "./errors.js";
import { type Logger, silentLogger } from "./logger.js";

/** How failed calls are retried. Every field is optional; defaults are safe. */
export interface RetryOptions {
  /** Total attempts including the first. Default 4. */
  maxAttempts?: number;
  /** Delay before the first retry, in ms. Default 100. */
  initialBackoffMs?: number;
  /** Upper bound of any single delay, in ms. Default 5000. */
  maxBackoffMs?: number;
  /** Growth factor between delays. Default 2. */
  multiplier?: number;
  /** Fraction of each delay that is randomised (0 to 1). Default 0.2. */
  jitter?: number;
  /**
   * Codes that are retried. Default `[Code.Unavailable]`; RESOURCE_EXHAUSTED is also
   * retried whenever the server says when to retry (Retry-After or gRPC pushback).
   */
  retryableCodes?: readonly Code[];
}

/** A {@link RetryOptions} with every field filled in. */
export type RetryPolicy = Required<RetryOptions>;

/** The default policy: transient failures only, 4 attempts, 100 ms doubling to 5 s, 20% jitter. */
export const defaultRetryPolicy: RetryPolicy = Object.freeze({
  maxAttempts: 4,
  initialBackoffMs: 100,
  maxBackoffMs: 5000,
  multiplier: 2,
  jitter: 0.2,
  retryableCodes: Object.freeze([Code.Unavailable]),
});

/**
 * Fills in a retry policy. `false` (or `maxAttempts: 1`) switches retries off.
 *
 * @throws {InvalidArgumentError} on a negative or non-finite setting.
 */
export function resolveRetryPolicy(options: RetryOptions | false | undefined): RetryPolicy {
  if (options === false) return { ...defaultRetryPolicy, maxAttempts: 1 };
  const p: RetryPolicy = { ...defaultRetryPolicy, ...options };
  for (const k of ["maxAttempts", "initialBackoffMs", "maxBackoffMs", "multiplier", "jitter"] as const) {
    if (!Number.isFinite(p[k]) || p[k] < 0) throw new InvalidArgumentError(`retry.${k} must be a finite number >= 0`);
  }
  if (p.maxAttempts < 1) throw new InvalidArgumentError("retry.maxAttempts must be at least 1");
  if (p.jitter > 1) throw new InvalidArgumentError("retry.jitter must be between 0 and 1");
  return p;
}

/**
 * The delay before retry number `retry` (1 for the first retry): exponential, capped, with
 * jitter; a server's own retry delay wins when it gave one.
 */
export function backoffDelay(
  retry: number,
  policy: RetryPolicy,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return retryAfterMs;
  const base = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * policy.multiplier ** (retry - 1));
  return Math.round(base * (1 - policy.jitter * random()));
}

/** Whether an error may be retried under the policy (the call's safety is checked separately). */
export function isRetryableError(err: BatonError, policy: RetryPolicy): boolean {
  if (err.code === Code.ResourceExhausted) return err.retryable;
  return policy.retryableCodes.includes(err.code);
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Marks a call as safe to retry because it carries an idempotency key: pass
 * `contextValues: createContextValues().set(idempotencyKey, key)` in the call options.
 * The same request (and so the same key) is sent on every attempt.
 */
export const idempotencyKey = createContextKey<string | undefined>(undefined, {
  description: "baton idempotency key",
});

/** What {@link withRetries} needs besides the attempt itself. */
export interface RetryLoopOptions {
  /** The policy: attempts, backoff, retryable codes. */
  policy: RetryPolicy;
  /** Where retries are logged. */
  logger?: Logger;
  /** Stops waiting and retrying; the loop then rethrows the last failure. */
  signal?: AbortSignal;
  /** Fields added to every "retrying" log line (method, url...). */
  logFields?: Record<string, unknown>;
  /** Whether a failure may be retried. Default: {@link isRetryableError} under the policy. */
  retryable?: (err: BatonError) => boolean;
  /** The clock's sleep, injectable for tests. Default {@link sleep}. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * The one retry loop of Baton, for gRPC calls and REST requests alike: runs `attempt`,
 * and after a retryable failure waits (exponential backoff with jitter, or the server's
 * `Retry-After`/pushback/`RetryInfo`) and runs it again, up to `policy.maxAttempts` in all.
 * Whether the call is safe to repeat is the caller's decision: call this only for reads and
 * for writes that carry an idempotency key.
 *
 * @throws the last failure, unchanged, once it is not retryable, attempts run out or
 *   `signal` aborts.
 */
export function withRetries<T>(attempt: (n: number) => Promise<T>, options: RetryLoopOptions): Promise<T> {
  // The first attempt needs no loop: most calls succeed, and their result is passed on as it is.
  return settle(attempt, 1).catch((err: unknown) => retryAfter(err, attempt, options));
}

/** `fn(arg)`, a synchronous throw as a rejection (as an `async` function would have it). */
function settle<A, T>(fn: (arg: A) => Promise<T>, arg: A): Promise<T> {
  try {
    return fn(arg);
  } catch (err) {
    return Promise.reject(err);
  }
}

/** The rest of {@link withRetries} once attempt 1 failed with `first`. */
async function retryAfter<T>(
  first: unknown,
  attempt: (n: number) => Promise<T>,
  options: RetryLoopOptions,
): Promise<T> {
  const { policy, signal } = options;
  const logger = options.logger ?? silentLogger;
  const wait = options.sleep ?? sleep;
  const retryable = options.retryable ?? ((e: BatonError) => isRetryableError(e, policy));
  let err = first;
  for (let n = 1; ; n++) {
    if (n >= policy.maxAttempts || signal?.aborted) throw err;
    const be = toBatonError(err);
    if (!retryable(be)) throw err;
    const delay = backoffDelay(n, policy, be.retryAfterMs);
    logger.warn("retrying call", { ...options.logFields, attempt: n, delayMs: delay, code: Code[be.code] });
    await wait(delay, signal);
    try {
      return await attempt(n + 1);
    } catch (e) {
      err = e;
    }
  }
}

/**
 * Retries unary calls that failed transiently, when the call is safe to repeat: its method
 * is declared `NO_SIDE_EFFECTS`/`IDEMPOTENT`, or it carries an {@link idempotencyKey}.
 * Streams are not retried here; resumable streams handle their own reconnects.
 */
export function retryInterceptor(policy: RetryPolicy, logger: Logger = silentLogger): Interceptor {
  return (next) => (req) => {
    if (req.stream) return settle(next, req);
    const attempt = () =>
      settle(next, req).catch((err: unknown) => {
        // An HTTP/2 stream the server side reset with CANCEL, while the caller did not
        // cancel, is a dropped connection: report it as UNAVAILABLE, as gRPC does.
        if (err instanceof ConnectError && err.code === Code.Canceled && !req.signal.aborted) {
          throw new ConnectError(
            `connection dropped: ${err.rawMessage}`,
            Code.Unavailable,
            err.metadata,
            undefined,
            err,
          );
        }
        throw err;
      });
    if (policy.maxAttempts <= 1) return attempt();
    const level = req.method.idempotency;
    const safe =
      level === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS ||
      level === MethodOptions_IdempotencyLevel.IDEMPOTENT ||
      req.contextValues.get(idempotencyKey) !== undefined;
    if (!safe) return attempt();
    return withRetries(attempt, { policy, logger, signal: req.signal, logFields: { method: req.method.name } });
  };
}
