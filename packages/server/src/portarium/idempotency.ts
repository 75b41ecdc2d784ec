/** Options of an {@link IdempotencyCache}. */
export interface IdempotencyCacheOptions {
  /** How long a record is kept after it was stored, in ms. */
  ttlMs: number;
  /** How many records are kept at most; storing one more evicts the oldest. */
  maxEntries: number;
  /** A monotonic clock in ms (default `performance.now`); tests inject their own. */
  now?: () => number;
}

/**
 * What the server remembers of `Idempotency-Key`s: one record per key, dropped `ttlMs` after
 * it was stored (a later request with that key is a new request, whatever its body), and
 * never more than `maxEntries` of them (the oldest go first). Records are kept in the order
 * they were stored, which with one TTL for all is also the order they expire in, so pruning
 * only ever looks at the oldest records and stops at the first live one.
 */
export class IdempotencyCache<V> {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { expiresAt: number; value: V }>();

  /** @throws {RangeError} when `ttlMs` is not a positive number or `maxEntries` not a positive integer. */
  constructor(options: IdempotencyCacheOptions) {
    if (!(options.ttlMs > 0) || !Number.isFinite(options.ttlMs)) {
      throw new RangeError(`ttlMs must be a positive number, got ${options.ttlMs}`);
    }
    if (!Number.isSafeInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${options.maxEntries}`);
    }
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries;
    this.#now = options.now ?? (() => performance.now());
  }

  /** The live record of `key`, or undefined when there is none or it expired. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /**
   * Stores the record of `key` (replacing an expired one), good for `ttlMs` from now. Expired
   * records are dropped first; then, while the cache is full, the oldest records.
   */
  set(key: string, value: V): void {
    this.#entries.delete(key);
    this.prune();
    // Bounded: each pass removes one record, and there are at most maxEntries of them.
    while (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done) break;
      this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { expiresAt: this.#now() + this.#ttlMs, value });
  }

  /** Drops every expired record. */
  prune(): void {
    const now = this.#now();
    // Oldest first; the first live record ends the scan, since later ones expire later.
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > now) break;
      this.#entries.delete(key);
    }
  }

  /** How many records are held (expired ones not yet pruned included). */
  get size(): number {
    return this.#entries.size;
  }
}
