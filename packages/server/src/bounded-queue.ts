/**
 * A bounded, closeable queue with one consumer, which iterates it: the outgoing side of a
 * server stream. Producers `push` (waiting while it is full, so a slow client slows its
 * producers instead of growing memory) or `tryPush` (dropping what does not fit, for
 * heartbeats that the next one replaces).
 *
 * `close()` ends the iteration once the buffered items are drained; `close(error)` makes it
 * throw `error` there instead. When the consumer stops iterating (`break`, `return`, a
 * throw), the queue closes and drops what it held, and waiting producers are released.
 */
export class BoundedQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  readonly #capacity: number;
  #closed = false;
  #failure: { error: unknown } | undefined;
  /** Resolved when an item arrives or the queue closes. */
  #wakeConsumer: (() => void) | undefined;
  /** Producers waiting for room, oldest first. */
  readonly #waitingForRoom: Array<() => void> = [];

  /** @param capacity most items held before `push` waits and `tryPush` refuses (at least 1). */
  constructor(capacity: number) {
    this.#capacity = Math.max(1, Math.floor(capacity));
  }

  /** Adds an item if there is room; false when full or closed. */
  tryPush(item: T): boolean {
    if (this.#closed || this.#items.length >= this.#capacity) return false;
    this.#items.push(item);
    this.#wake();
    return true;
  }

  /**
   * Adds an item, waiting for room while the queue is full.
   *
   * @returns false when the queue is (or becomes) closed before the item was added.
   */
  async push(item: T): Promise<boolean> {
    while (!this.#closed && this.#items.length >= this.#capacity) {
      await new Promise<void>((resolve) => this.#waitingForRoom.push(resolve));
    }
    return this.tryPush(item);
  }

  /** Ends the queue after what is buffered, with `error` thrown to the consumer if given. Idempotent. */
  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    if (error !== undefined) this.#failure = { error };
    this.#wake();
    for (const release of this.#waitingForRoom.splice(0)) release();
  }

  #wake(): void {
    const wake = this.#wakeConsumer;
    this.#wakeConsumer = undefined;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    try {
      for (;;) {
        if (this.#items.length > 0) {
          const item = this.#items.shift() as T;
          this.#waitingForRoom.shift()?.();
          yield item;
        } else if (this.#closed) {
          if (this.#failure) throw this.#failure.error;
          return;
        } else {
          await new Promise<void>((resolve) => {
            this.#wakeConsumer = resolve;
          });
        }
      }
    } finally {
      this.close();
      this.#items.length = 0;
    }
  }
}
