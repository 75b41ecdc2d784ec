import { setMaxListeners } from "node:events";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Clock } from "./clock.js";
import type { StreamHandler } from "./listen.js";
import type { AnyRequest, AnyResponse } from "./module.js";

/**
 * How long a shutdown lets calls in flight finish before it ends what is left with
 * UNAVAILABLE, in ms: the seed's (baaaht) 10 s shutdown timeout.
 */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;

/** The message of the UNAVAILABLE status calls get from a server that is shutting down. */
export const SHUTTING_DOWN_MESSAGE = "server shutting down";

/**
 * After the drain period, how long (real time, ms) the streams get to write their final
 * status before the connections are cut: a safety net for clients that stopped reading.
 */
const SETTLE_MS = 2_000;

/** The error calls end with once the drain period is over (and new calls get during it). */
export const shuttingDown = (): ConnectError => new ConnectError(SHUTTING_DOWN_MESSAGE, Code.Unavailable);

/**
 * The server's graceful shutdown: counts the requests in flight, refuses new calls once
 * draining, and when the drain period ends makes every call still open end with
 * UNAVAILABLE "server shutting down" (a real status: gRPC trailers, a gRPC-Web trailer
 * frame, a Connect end-stream error), never a clean end that a follower would take for
 * the end of its stream.
 */
export class ShutdownGate {
  readonly #ended = new AbortController();

  constructor() {
    // Every call in flight listens on the signal (its handler's ctx.signal follows it), so
    // thousands of listeners are normal here, not a leak.
    setMaxListeners(0, this.#ended.signal);
    this.#ended.signal.addEventListener(
      "abort",
      () => {
        for (const ended of this.#waiters) ended();
        this.#waiters.clear();
      },
      { once: true },
    );
  }
  /** What each raced call or stream message resolves with when the drain period ends. */
  readonly #waiters = new Set<() => void>();
  #active = 0;
  #draining = false;
  #idle: (() => void) | undefined;

  /**
   * Aborted (with the UNAVAILABLE error as its reason) when the drain period is over: the
   * handlers' `ctx.signal` follows it (connect-es `shutdownSignal`), and REST streams
   * (server-sent events) end on it.
   */
  get signal(): AbortSignal {
    return this.#ended.signal;
  }

  /** Whether the server stopped taking new calls. */
  get draining(): boolean {
    return this.#draining;
  }

  /** How many requests are in flight (REST and RPC, every protocol). */
  get active(): number {
    return this.#active;
  }

  /** Wraps the server's request handler so that requests are counted until their response closes. */
  track<H extends (req: AnyRequest, res: AnyResponse) => void>(handler: H): H {
    return ((req: AnyRequest, res: AnyResponse) => {
      this.#active++;
      let done = false;
      res.once("close", () => {
        if (done) return;
        done = true;
        this.#active--;
        if (this.#active === 0) this.#idle?.();
      });
      handler(req, res);
    }) as H;
  }

  /**
   * Wraps the server's {@link StreamHandler} the same way: a stream it takes is counted
   * until it closes (one it leaves to the request handler is counted there).
   */
  trackStreams(handler: StreamHandler): StreamHandler {
    return (stream, headers, rawHeaders, secure) => {
      this.#active++;
      if (!handler(stream, headers, rawHeaders, secure)) {
        // Not taken: the request handler counts it (no idle check in between).
        this.#active--;
        return false;
      }
      stream.once("close", () => {
        this.#active--;
        if (this.#active === 0) this.#idle?.();
      });
      return true;
    };
  }

  /**
   * The interceptor (outermost) that refuses calls made while draining and ends the calls
   * still open at the end of the drain period with UNAVAILABLE: a unary call's answer is
   * raced against it, and a stream's messages are, so a handler that ends quietly on its
   * aborted signal (a follower) or never ends still gets the status.
   */
  interceptor(): Interceptor {
    return (next) => async (req) => {
      if (this.#draining) throw shuttingDown();
      const res = await this.#race(next(req));
      if (res === ENDED) throw shuttingDown();
      if (!res.stream) return res;
      return { ...res, message: this.#guard(res.message) };
    };
  }

  /**
   * Stops taking new calls, waits for the calls in flight to finish or `timeoutMs` (on
   * `clock`) to pass, then ends what is left with UNAVAILABLE and waits (bounded) for those
   * answers to be written.
   */
  async drain(clock: Clock, timeoutMs: number): Promise<void> {
    this.#draining = true;
    if (this.#active > 0) {
      let cancel = () => {};
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
        cancel = clock.setTimer(resolve, timeoutMs);
      });
      cancel();
    }
    this.#ended.abort(shuttingDown());
    if (this.#active === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#idle = resolve;
      timer = setTimeout(resolve, SETTLE_MS);
    });
    clearTimeout(timer);
  }

  /**
   * `p`'s value, or {@link ENDED} once the drain period is over, whichever comes first. The
   * waiters sit in a set that the one abort listener empties: no listener, no
   * `Promise.race` and no async frame per call or per stream message.
   */
  #race<T>(p: Promise<T>): Promise<T | typeof ENDED> {
    if (this.#ended.signal.aborted) return Promise.resolve(ENDED);
    return new Promise<T | typeof ENDED>((resolve, reject) => {
      const ended = () => resolve(ENDED);
      this.#waiters.add(ended);
      p.then(
        (v) => {
          this.#waiters.delete(ended);
          resolve(v);
        },
        (err: unknown) => {
          this.#waiters.delete(ended);
          reject(err);
        },
      );
    });
  }

  /**
   * A stream's messages until the drain period is over, then UNAVAILABLE: whether the
   * handler ended on its aborted signal (quietly, or with the signal's reason), failed with
   * a cancellation, is still waiting, or is still replaying.
   */
  #guard<T>(source: AsyncIterable<T>): AsyncIterable<T> {
    // An iterator written out rather than an async generator, and its callbacks made once
    // per stream: it sits on every message of every stream, and a generator layer (or a
    // race with its closures) costs promises and a resumption per message. A message
    // costs one promise here, and the waiters set holds the stream only while it waits.
    const waiters = this.#waiters;
    const ended = this.#ended.signal;
    return {
      [Symbol.asyncIterator]: (): AsyncIterator<T> => {
        const it = source[Symbol.asyncIterator]();
        let finished = false;
        // The settlers of the one next() in flight (a consumer asks for a message once it
        // has the last one; a second ask waits behind the first).
        let resolveNext: ((r: IteratorResult<T>) => void) | undefined;
        let rejectNext: ((err: unknown) => void) | undefined;
        let pending: Promise<IteratorResult<T>> | undefined;
        // The rejecter of the next() in flight (undefined when none is), which is over now.
        const take = () => {
          const reject = rejectNext;
          resolveNext = rejectNext = undefined;
          pending = undefined;
          waiters.delete(onEnded);
          return reject;
        };
        // Not awaited: a handler still waiting finishes on its aborted signal.
        const stop = () => {
          if (finished) return;
          finished = true;
          it.return?.(undefined).catch(() => {});
        };
        // The drain period is over while the handler is still working on a message.
        const onEnded = () => {
          const reject = take();
          stop();
          reject?.(shuttingDown());
        };
        const onValue = (r: IteratorResult<T>) => {
          const resolve = resolveNext;
          const reject = take();
          if (!resolve || !reject) return; // already ended by the shutdown
          if (r.done) finished = true;
          if (ended.aborted) {
            stop();
            reject(shuttingDown());
            return;
          }
          resolve(r);
        };
        const onError = (err: unknown) => {
          const reject = take();
          if (!reject) return;
          finished = true;
          // The handler's own refusals stand; a cancellation caused by the shutdown does not.
          reject(ended.aborted && !(err instanceof ConnectError && err.code !== Code.Canceled) ? shuttingDown() : err);
        };
        const next = (): Promise<IteratorResult<T>> => {
          if (pending) return pending.then(next, next);
          if (finished) return Promise.resolve({ done: true, value: undefined });
          if (ended.aborted) {
            stop();
            return Promise.reject(shuttingDown());
          }
          pending = new Promise<IteratorResult<T>>((resolve, reject) => {
            resolveNext = resolve;
            rejectNext = reject;
          });
          waiters.add(onEnded);
          it.next().then(onValue, onError);
          return pending;
        };
        return {
          next,
          return: (value?: unknown): Promise<IteratorResult<T>> => {
            stop();
            return Promise.resolve({ done: true, value } as IteratorResult<T>);
          },
        };
      },
    };
  }
}

const ENDED: unique symbol = Symbol("ended");
