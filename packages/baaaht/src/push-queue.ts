/** Options of {@link PushQueue}. */
export interface PushQueueOptions {
  /** Most items held before `push` waits and `tryPush` refuses. Default 256. */
  capacity?: number;
}

/**
 * A bounded, closeable queue that is also an `AsyncIterable`: producers `push`, one
 * consumer iterates. Used for the outgoing side of bidirectional streams (connect-es
 * takes an `AsyncIterable` of requests) and to fan items out to stream handlers.
 *
 * Closing with an error makes the consumer throw it once the buffered items are drained;
 * closing without one ends the iteration. Ending the iteration early (`break`) closes
 * the queue.
 */
export class PushQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  readonly #capacity: number;
  #closed = false;
  #error: unknown;
  #hasError = false;
  #takers: Array<() => void> = [];
  #spaceWaiters: Array<() => void> = [];

  constructor(options: PushQueueOptions = {}) {
    this.#capacity = Math.max(1, options.capacity ?? 256);
  }

  /** Whether the queue was closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Items waiting to be taken. */
  get size(): number {
    return this.#items.length;
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
      await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
    }
    return this.tryPush(item);
  }

  /** Ends the queue: the consumer drains what is buffered, then ends (or throws `error`). Idempotent. */
  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    if (error !== undefined) {
      this.#error = error;
      this.#hasError = true;
    }
    this.#wake();
    for (const w of this.#spaceWaiters.splice(0)) w();
  }

  /**
   * Takes the next item, waiting for one. Unlike iterating, this never closes the queue.
   *
   * @returns `undefined` once the queue is closed and drained.
   * @throws the close error, once drained.
   */
  async shift(): Promise<
    | {
        /** The item taken from the head of the queue. */
        value: T;
      }
    | undefined
  > {
    for (;;) {
      if (this.#items.length > 0) {
        const value = this.#items.shift() as T;
        this.#spaceWaiters.shift()?.();
        return { value };
      }
      if (this.#closed) {
        if (this.#hasError) throw this.#error;
        return undefined;
      }
      await new Promise<void>((resolve) => this.#takers.push(resolve));
    }
  }

  #wake(): void {
    for (const t of this.#takers.splice(0)) t();
  }

  /**
   * Yields the items in order, waiting for more until the queue is closed. Iterating
   * consumes the queue: when the loop ends (or breaks) the queue is closed and emptied.
   *
   * @throws the error the queue was closed with, once the items before it are drained.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    try {
      for (;;) {
        if (this.#items.length > 0) {
          const item = this.#items.shift() as T;
          const w = this.#spaceWaiters.shift();
          w?.();
          yield item;
          continue;
        }
        if (this.#closed) {
          if (this.#hasError) throw this.#error;
          return;
        }
        await new Promise<void>((resolve) => this.#takers.push(resolve));
      }
    } finally {
      this.close();
      this.#items.length = 0;
    }
  }
}
