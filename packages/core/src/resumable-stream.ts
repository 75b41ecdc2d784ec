import { type BufferedIterator, takeBuffered, takeFrom } from "./buffered.js";
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
  const settings: Settings = {
    policy: resolveRetryPolicy(options.backoff ?? { initialBackoffMs: 50, maxBackoffMs: 2000 }),
    maxReconnects: options.maxReconnects ?? 10,
    isResumable: options.isResumable ?? isDroppedConnection,
    logger: options.logger ?? silentLogger,
    window: Math.max(1, options.dedupeWindow ?? 10_000),
  };
  return {
    [Symbol.asyncIterator]: () => new Resumable(options, settings),
  };
}

/** What {@link resumableStream} resolves from its options once, for every iteration. */
interface Settings {
  policy: ReturnType<typeof resolveRetryPolicy>;
  maxReconnects: number;
  isResumable: (err: BatonError) => boolean;
  logger: Logger;
  window: number;
}

const cancelled = (cause: unknown) => new CanceledError("the stream was cancelled", { cause });
const done = <T>(): IteratorResult<T> => ({ done: true, value: undefined });

/**
 * One iteration of a {@link resumableStream}. An iterator written out, and a class rather
 * than closures per iteration: it sits on every item, a generator layer would cost promises
 * and a resumption per item, and methods shared by every stream keep the engine's optimized
 * code valid from one stream to the next. An item is passed on as the underlying stream gave
 * it (taken at once when that stream already holds it); the reconnects are an async method
 * off that path.
 */
class Resumable<T, C> implements BufferedIterator<T> {
  readonly #options: ResumableStreamOptions<T, C>;
  readonly #settings: Settings;
  readonly #seen = new Set<string>();
  /** The last item received: the cursor is made from it when a stream is reopened. */
  #last: { item: T } | undefined;
  #failures = 0;
  #finished = false;
  #it: AsyncIterator<T> | undefined;
  #controller: AbortController | undefined;
  /** The next() in flight: a second ask waits behind it (items in order, one attempt at a time), as an async generator queues them. */
  #pending: Promise<IteratorResult<T>> | undefined;
  readonly #onAbort = () => this.#controller?.abort(this.#options.signal?.reason);
  readonly #settled = () => {
    this.#pending = undefined;
  };
  readonly #onItem = (r: IteratorResult<T>) => this.#item(r);
  readonly #recover = (err: unknown) => this.#recoverFrom(err);
  readonly #nextAgain = () => this.next();

  constructor(options: ResumableStreamOptions<T, C>, settings: Settings) {
    this.#options = options;
    this.#settings = settings;
  }

  /** Lets go of the current attempt: its listener, and the call (aborted). */
  #close(): void {
    this.#options.signal?.removeEventListener("abort", this.#onAbort);
    this.#controller?.abort();
    this.#controller = undefined;
    this.#it = undefined;
  }

  #open(): AsyncIterator<T> {
    const options = this.#options;
    this.#controller = new AbortController();
    options.signal?.addEventListener("abort", this.#onAbort, { once: true });
    const cursor = this.#last === undefined ? undefined : options.cursorAfter(this.#last.item);
    const it = options.open(cursor, this.#controller.signal)[Symbol.asyncIterator]();
    this.#it = it;
    return it;
  }

  /** Records a new item; false for one already delivered (dropped). */
  #accept(value: T): boolean {
    this.#last = { item: value };
    const key = this.#options.keyOf?.(value);
    if (key !== undefined) {
      const seen = this.#seen;
      if (seen.has(key)) return false;
      seen.add(key);
      if (seen.size > this.#settings.window) seen.delete(seen.values().next().value as string);
    }
    // Only a new item is progress: a server that resends what was delivered and ends
    // again still runs out of reconnects.
    this.#failures = 0;
    return true;
  }

  #item(r: IteratorResult<T>): IteratorResult<T> | Promise<IteratorResult<T>> {
    const options = this.#options;
    if (r.done) {
      // A stream that ended because the caller aborted was cancelled, not completed.
      if (options.signal?.aborted) return this.#recoverFrom(cancelled(options.signal.reason));
      if (!options.endless) {
        this.#finished = true;
        this.#close();
        return r;
      }
      return this.#recoverFrom(new EndedEarly("the server ended a stream that does not end (a restart?)"));
    }
    if (this.#accept(r.value)) return r;
    // A duplicate: the next item the stream holds, or its next().
    const it = this.#it as AsyncIterator<T>;
    return this.#takeFromCurrent(it) ?? it.next().then(this.#onItem, this.#recover);
  }

  /** After a failed or ended attempt: resumes from the cursor after a backoff, or throws. */
  async #recoverFrom(err: unknown): Promise<IteratorResult<T>> {
    const options = this.#options;
    const settings = this.#settings;
    this.#close();
    if (this.#finished) return done();
    if (options.signal?.aborted) {
      this.#finished = true;
      throw err instanceof CanceledError ? err : cancelled(err);
    }
    const be = toBatonError(err);
    const failures = ++this.#failures;
    const resumable = be instanceof EndedEarly || settings.isResumable(be);
    if (!resumable || (settings.maxReconnects > 0 && failures > settings.maxReconnects)) {
      this.#finished = true;
      throw be;
    }
    const delay = backoffDelay(failures, settings.policy);
    settings.logger.warn("stream dropped, resuming", { attempt: failures, delayMs: delay, error: be.message });
    await sleep(delay, options.signal).catch((reason: unknown) => {
      this.#finished = true;
      throw cancelled(reason);
    });
    if (this.#finished) return done();
    return this.#start();
  }

  /** Opens an attempt and asks it for its first item. */
  #start(): Promise<IteratorResult<T>> {
    const signal = this.#options.signal;
    if (signal?.aborted) {
      this.#finished = true;
      return Promise.reject(cancelled(signal.reason));
    }
    let next: Promise<IteratorResult<T>>;
    try {
      next = this.#open().next();
    } catch (err) {
      return this.#recoverFrom(err);
    }
    return next.then(this.#onItem, this.#recover);
  }

  [takeBuffered](): IteratorYieldResult<T> | undefined {
    const it = this.#it;
    if (it === undefined || this.#pending !== undefined || this.#finished) return undefined;
    return this.#takeFromCurrent(it);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#pending !== undefined) return this.#pending.then(this.#nextAgain, this.#nextAgain);
    if (this.#finished) return Promise.resolve(done());
    const it = this.#it;
    if (it !== undefined) {
      const r = this.#takeFromCurrent(it);
      if (r !== undefined) return Promise.resolve(r);
    }
    const p = it === undefined ? this.#start() : it.next().then(this.#onItem, this.#recover);
    this.#pending = p;
    p.then(this.#settled, this.#settled);
    return p;
  }

  /** An item the current attempt already holds (duplicates dropped), or undefined. */
  #takeFromCurrent(it: AsyncIterator<T>): IteratorYieldResult<T> | undefined {
    for (let r = takeFrom(it); r !== undefined; r = takeFrom(it)) if (this.#accept(r.value)) return r;
    return undefined;
  }

  return(): Promise<IteratorResult<T>> {
    const current = this.#it;
    this.#finished = true;
    this.#close();
    // Not awaited past a failure: the call is aborted either way.
    return Promise.resolve(current?.return?.())
      .catch(() => {})
      .then(done<T>);
  }
}
