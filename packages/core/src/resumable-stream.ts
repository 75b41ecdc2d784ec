import { type BatonError, CanceledError, Code, toBatonError, UnavailableError } from "./errors.js";
import { type Logger, silentLogger } from "./logger.js";
import { backoffDelay, type RetryOptions, resolveRetryPolicy, sleep } from "./retry.js";

/** How {@link resumableStream} opens, resumes and deduplicates a stream. */
export interface ResumableStreamOptions<T, C> {
  /**
   * Opens the underlying stream from `cursor` (`undefined`: where the caller asked to
   * start). Called again after every dropped connection. Must stop when `signal` aborts.
   */
  open(cursor: C | undefined, signal: AbortSignal): AsyncIterable<T>;
  /** The cursor that resumes the stream just after `item` (e.g. its id + 1, or its time). */
  cursorAfter(item: T): C;
  /**
   * A unique key per item. Items whose key was already delivered are dropped, so a resume
   * cursor that overlaps (a timestamp, an inclusive id) never yields duplicates.
   */
  keyOf?: (item: T) => string;
  /** Stops the stream; the iterator then throws {@link CanceledError}. */
  signal?: AbortSignal;
  /** Consecutive reconnects without receiving a new item before giving up. 0: never give up. Default 10. */
  maxReconnects?: number;
  /** Backoff between reconnects (initial, max, multiplier, jitter). */
  backoff?: RetryOptions;
  /** Which failures mean "the connection dropped, resume". Default: UNAVAILABLE and an unexpected end of the transport. */
  isResumable?: (err: BatonError) => boolean;
  /**
   * The stream never ends by design (a follow of a log, a watch): a clean end can only be a
   * server going away (a restart), so it is resumed from the cursor like a dropped
   * connection, and counts against `maxReconnects` like one. Default false: a clean end
   * ends the iteration.
   */
  endless?: boolean;
  /** How many recent keys are remembered for deduplication. Default 10000. */
  dedupeWindow?: number;
  /** Where reconnects are logged. */
  logger?: Logger;
}

/** The clean end of an `endless` stream, resumed like a dropped connection. */
class EndedEarly extends UnavailableError {}

const droppedMessage =
  /(stream|socket|connection|session).*(clos|reset|destroy|hang up|end)|premature|ECONNRESET|EPIPE|missing trailer|RST_STREAM|GOAWAY/i;

/**
 * The default test for "the connection dropped": UNAVAILABLE; CANCELED that the caller did
 * not ask for (a connection the server cut resets its HTTP/2 streams with CANCEL); or an
 * INTERNAL/UNKNOWN transport failure.
 */
export function isDroppedConnection(err: BatonError): boolean {
  if (err.code === Code.Unavailable) return err.retryable;
  if (err.code === Code.Canceled) return true;
  if (err.code === Code.Internal || err.code === Code.Unknown) return droppedMessage.test(err.message);
  return false;
}

/**
 * Wraps a server stream of items with ids into an `AsyncIterable` that survives dropped
 * connections: it reopens the stream from the cursor after the last item it delivered, and
 * drops items it has already delivered, so the consumer sees no loss and no duplicates.
 * An `endless` stream is reopened after a clean end too. `break` (or `signal`) cancels the
 * underlying call.
 *
 * @throws {BatonError} the failure that ended the stream, when it is not resumable or
 *   `maxReconnects` consecutive attempts failed.
 */
export function resumableStream<T, C>(options: ResumableStreamOptions<T, C>): AsyncIterable<T> {
  const policy = resolveRetryPolicy(options.backoff ?? { initialBackoffMs: 50, maxBackoffMs: 2000 });
  const maxReconnects = options.maxReconnects ?? 10;
  const isResumable = options.isResumable ?? isDroppedConnection;
  const logger = options.logger ?? silentLogger;
  const window = Math.max(1, options.dedupeWindow ?? 10_000);
  const cancelled = (cause: unknown) => new CanceledError("the stream was cancelled", { cause });
  const done = (): IteratorResult<T> => ({ done: true, value: undefined });
  return {
    // An iterator written out rather than an async generator: it sits on every item, and a
    // generator layer costs promises and a resumption per item. An item is passed on as
    // the underlying stream gave it; the reconnects are an async function off that path.
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const seen = new Set<string>();
      // The last item received: the cursor is made from it when a stream is reopened.
      let last: { item: T } | undefined;
      let failures = 0;
      let finished = false;
      let it: AsyncIterator<T> | undefined;
      let controller: AbortController | undefined;
      const onAbort = () => controller?.abort(options.signal?.reason);
      /** Lets go of the current attempt: its listener, and the call (aborted). */
      const close = () => {
        options.signal?.removeEventListener("abort", onAbort);
        controller?.abort();
        controller = undefined;
        it = undefined;
      };
      const open = (): AsyncIterator<T> => {
        controller = new AbortController();
        options.signal?.addEventListener("abort", onAbort, { once: true });
        const stream = options.open(last === undefined ? undefined : options.cursorAfter(last.item), controller.signal);
        it = stream[Symbol.asyncIterator]();
        return it;
      };
      const onItem = (r: IteratorResult<T>): IteratorResult<T> | Promise<IteratorResult<T>> => {
        if (r.done) {
          // A stream that ended because the caller aborted was cancelled, not completed.
          if (options.signal?.aborted) return recover(cancelled(options.signal.reason));
          if (!options.endless) {
            finished = true;
            close();
            return r;
          }
          return recover(new EndedEarly("the server ended a stream that does not end (a restart?)"));
        }
        last = { item: r.value };
        const key = options.keyOf?.(r.value);
        if (key !== undefined) {
          if (seen.has(key)) return (it as AsyncIterator<T>).next().then(onItem, recover);
          seen.add(key);
          if (seen.size > window) seen.delete(seen.values().next().value as string);
        }
        // Only a new item is progress: a server that resends what was delivered and ends
        // again still runs out of reconnects.
        failures = 0;
        return r;
      };
      /** After a failed or ended attempt: resumes from the cursor after a backoff, or throws. */
      const recover = async (err: unknown): Promise<IteratorResult<T>> => {
        close();
        if (finished) return done();
        if (options.signal?.aborted) {
          finished = true;
          throw err instanceof CanceledError ? err : cancelled(err);
        }
        const be = toBatonError(err);
        failures++;
        const resumable = be instanceof EndedEarly || isResumable(be);
        if (!resumable || (maxReconnects > 0 && failures > maxReconnects)) {
          finished = true;
          throw be;
        }
        const delay = backoffDelay(failures, policy);
        logger.warn("stream dropped, resuming", { attempt: failures, delayMs: delay, error: be.message });
        await sleep(delay, options.signal).catch((reason: unknown) => {
          finished = true;
          throw cancelled(reason);
        });
        if (finished) return done();
        return start();
      };
      /** Opens an attempt and asks it for its first item. */
      const start = (): Promise<IteratorResult<T>> => {
        if (options.signal?.aborted) {
          finished = true;
          return Promise.reject(cancelled(options.signal.reason));
        }
        let next: Promise<IteratorResult<T>>;
        try {
          next = open().next();
        } catch (err) {
          return recover(err);
        }
        return next.then(onItem, recover);
      };
      // The next() in flight: a second ask waits behind it (items in order, one attempt at
      // a time), as an async generator queues them.
      let pending: Promise<IteratorResult<T>> | undefined;
      const settled = () => {
        pending = undefined;
      };
      const next = (): Promise<IteratorResult<T>> => {
        if (pending !== undefined) return pending.then(next, next);
        if (finished) return Promise.resolve(done());
        const p = it === undefined ? start() : it.next().then(onItem, recover);
        pending = p;
        p.then(settled, settled);
        return p;
      };
      return {
        next,
        return(): Promise<IteratorResult<T>> {
          const current = it;
          finished = true;
          close();
          // Not awaited past a failure: the call is aborted either way.
          return Promise.resolve(current?.return?.())
            .catch(() => {})
            .then(done);
        },
      };
    },
  };
}
