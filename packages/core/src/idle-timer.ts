import { DeadlineExceededError } from "./errors.js";

/**
 * Fails a stream that goes `idleMs` without sending anything: armed only while the reader
 * waits for the server (a slow consumer does not count), it aborts {@link IdleTimer.signal}
 * with the timer's error when it fires (by default a {@link DeadlineExceededError}). Every
 * stream idle timeout of Baton is one: RPC streams' (the connection's transport) and
 * Portarium's event streams.
 */
export class IdleTimer {
  readonly #idleMs: number;
  readonly #error: (idleMs: number) => Error;
  readonly #controller = new AbortController();
  /** Rejects when the timer fires, so a read from a fetch that ignores aborts does not hang. */
  readonly #fired: Promise<never>;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param idleMs how long the server may stay silent, in ms (> 0).
   * @param error the error it fires with (an RPC transport's is a `ConnectError`).
   */
  constructor(
    idleMs: number,
    error: (idleMs: number) => Error = (ms) => new DeadlineExceededError(`the stream sent nothing for ${ms} ms`),
  ) {
    this.#idleMs = idleMs;
    this.#error = error;
    const signal = this.#controller.signal;
    this.#fired = new Promise<never>((_, reject) => {
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
    this.#fired.catch(() => {
      // Observed through `during`; a timer that never fires must not leave an unhandled rejection.
    });
  }

  /** Aborted when the timer fires; pass it to the request. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** The error the timer fired with, or undefined while it has not. */
  get error(): Error | undefined {
    return this.#controller.signal.aborted ? (this.#controller.signal.reason as Error) : undefined;
  }

  /** Runs `wait` (a read from the server) with the timer armed. @throws the timer's error when it fires first. */
  async during<T>(wait: () => Promise<T>): Promise<T> {
    this.#timer = setTimeout(() => {
      this.#controller.abort(this.#error(this.#idleMs));
    }, this.#idleMs);
    try {
      return await Promise.race([wait(), this.#fired]);
    } catch (err) {
      throw this.error ?? err;
    } finally {
      clearTimeout(this.#timer);
    }
  }

  /** The items of `body` (chunks, messages), each waited for with the timer armed. */
  async *watch<T>(body: AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
    const it = body[Symbol.asyncIterator]();
    try {
      for (;;) {
        const next = await this.during(() => it.next());
        if (next.done) return;
        yield next.value;
      }
    } finally {
      // Once the timer fired, a pending read may never settle: release the body without waiting for it.
      if (this.error) void it.return?.()?.catch(() => undefined);
      else await it.return?.();
    }
  }
}
