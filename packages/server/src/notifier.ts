/**
 * Wakes stream handlers when a topic (a run, a session) reaches a new sequence number.
 * `publish` is synchronous, and `wait` checks the latest number before sleeping, so a
 * publish between a read and a wait is never missed.
 */
export class Notifier {
  readonly #latest = new Map<string, number>();
  readonly #waiters = new Map<string, Set<(woke: boolean) => void>>();
  #closed = false;
  /**
   * What to call when a waiter's signal aborts, by signal: one abort listener per signal
   * (a follower's stream waits on its one signal again and again), not one per wait.
   */
  readonly #onAbort = new WeakMap<AbortSignal, Set<() => void>>();

  /** How many waits are pending (a debug count: stream handlers asleep on a topic). */
  get waiting(): number {
    let n = 0;
    for (const set of this.#waiters.values()) n += set.size;
    return n;
  }

  /** Records that `topic` reached `seq` and wakes its waiters. */
  publish(topic: string, seq: number): void {
    if (seq > (this.#latest.get(topic) ?? 0)) this.#latest.set(topic, seq);
    const waiters = this.#waiters.get(topic);
    if (!waiters) return;
    this.#waiters.delete(topic);
    for (const wake of waiters) wake(true);
  }

  /**
   * Resolves true once `topic` has reached `seq`, false when `signal` aborts or the notifier
   * closes.
   */
  wait(topic: string, seq: number, signal?: AbortSignal): Promise<boolean> {
    if ((this.#latest.get(topic) ?? 0) >= seq) return Promise.resolve(true);
    if (this.#closed || signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const set = this.#waiters.get(topic) ?? new Set();
      this.#waiters.set(topic, set);
      const aborters = signal ? this.#abortersOf(signal) : undefined;
      const done = (woke: boolean) => {
        set.delete(done);
        aborters?.delete(onAbort);
        resolve(woke);
      };
      const onAbort = () => done(false);
      set.add(done);
      aborters?.add(onAbort);
    });
  }

  /** The set of calls to make when `signal` aborts, listening on it the first time. */
  #abortersOf(signal: AbortSignal): Set<() => void> {
    let aborters = this.#onAbort.get(signal);
    if (aborters) return aborters;
    const set = new Set<() => void>();
    aborters = set;
    this.#onAbort.set(signal, set);
    signal.addEventListener(
      "abort",
      () => {
        this.#onAbort.delete(signal);
        for (const onAbort of [...set]) onAbort();
      },
      { once: true },
    );
    return set;
  }

  /**
   * Forgets `topic` (its entity is gone): drops its latest number and wakes its waiters
   * with true, so they look again and find it gone. Keeps the notifier's memory bounded by
   * the live topics.
   */
  forget(topic: string): void {
    this.#latest.delete(topic);
    const waiters = this.#waiters.get(topic);
    if (!waiters) return;
    this.#waiters.delete(topic);
    for (const wake of waiters) wake(true);
  }

  /** Wakes every waiter with false and refuses new waits. */
  closeAll(): void {
    this.#closed = true;
    for (const set of this.#waiters.values()) for (const wake of [...set]) wake(false);
    this.#waiters.clear();
  }
}
