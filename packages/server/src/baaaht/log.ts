import { Notifier } from "../notifier.js";

/**
 * An ordered, bounded log with sequence numbers that stream handlers can replay and then
 * follow. Sequence numbers start at 1 and never repeat; the oldest entries are dropped
 * beyond `capacity`.
 */
export class SeqLog<T> {
  readonly #items: Array<{ seq: number; item: T }> = [];
  readonly #capacity: number;
  readonly #notifier = new Notifier();
  readonly #topic = "log";
  #seq = 0;
  #followers = 0;

  constructor(capacity = 10_000) {
    this.#capacity = Math.max(1, capacity);
  }

  /** The sequence number of the newest entry (0 when empty). */
  get lastSeq(): number {
    return this.#seq;
  }

  /** How many `follow` generators are running (open streams reading this log). */
  get followers(): number {
    return this.#followers;
  }

  /** Appends an item and wakes followers; returns its sequence number. */
  append(item: T): number {
    const seq = ++this.#seq;
    this.#items.push({ seq, item });
    if (this.#items.length > this.#capacity) this.#items.shift();
    this.#notifier.publish(this.#topic, seq);
    return seq;
  }

  /** Entries with sequence numbers greater than `afterSeq`, oldest first (at most `limit`). */
  since(afterSeq: number, limit = 1000): Array<{ seq: number; item: T }> {
    const out: Array<{ seq: number; item: T }> = [];
    // Entries are sorted by seq: find the first one after `afterSeq` and copy from there.
    let i = this.#items.length;
    while (i > 0 && (this.#items[i - 1]?.seq ?? 0) > afterSeq) i--;
    for (; i < this.#items.length && out.length < limit; i++) {
      const e = this.#items[i];
      if (e) out.push(e);
    }
    return out;
  }

  /** Every retained entry, oldest first. */
  all(): readonly T[] {
    return this.#items.map((e) => e.item);
  }

  /** Resolves true once an entry after `afterSeq` exists; false on abort or close. */
  wait(afterSeq: number, signal?: AbortSignal): Promise<boolean> {
    return this.#notifier.wait(this.#topic, afterSeq + 1, signal);
  }

  /**
   * Replays entries after `afterSeq` and follows new ones until `signal` aborts or the log
   * closes. Each entry is yielded with its sequence number.
   */
  async *follow(afterSeq: number, signal: AbortSignal): AsyncGenerator<{ seq: number; item: T }> {
    let cursor = afterSeq;
    this.#followers++;
    try {
      while (!signal.aborted) {
        const batch = this.since(cursor);
        for (const e of batch) {
          cursor = e.seq;
          yield e;
          if (signal.aborted) return;
        }
        if (batch.length > 0) continue;
        if (!(await this.wait(cursor, signal))) return;
      }
    } finally {
      this.#followers--;
    }
  }

  /** Wakes every follower so it ends. */
  close(): void {
    this.#notifier.closeAll();
  }
}

/** One {@link SeqLog} per key (a task, a reply), each made on first use with the same capacity. */
export class SeqLogs<T> {
  readonly #logs = new Map<string, SeqLog<T>>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** The log of `key` (made empty on first use). */
  get(key: string): SeqLog<T> {
    let log = this.#logs.get(key);
    if (!log) {
      log = new SeqLog<T>(this.#capacity);
      this.#logs.set(key, log);
    }
    return log;
  }

  /** Forgets the log of `key` (its entity is gone), ending its followers. */
  delete(key: string): void {
    this.#logs.get(key)?.close();
    this.#logs.delete(key);
  }

  /** How many logs are kept. */
  get size(): number {
    return this.#logs.size;
  }

  /** Ends every follower of every log. */
  close(): void {
    for (const log of this.#logs.values()) log.close();
  }
}
