/**
 * Where the server's rules read the time and set their timers: session expiry, heartbeat
 * windows, token lifetimes, `Idempotency-Key` lifetimes, invocation progress. Production
 * uses {@link systemClock}; tests pass a {@link ManualClock} to `startServer({ clock })` and
 * move time by hand instead of sleeping.
 */
export interface Clock {
  /** The current time, Unix ms. */
  now(): number;
  /**
   * Calls `fn` once, `delayMs` from now (at once for 0 or less). The timer never keeps the
   * process alive. Returns a function that cancels it (a no-op once it fired).
   */
  setTimer(fn: () => void, delayMs: number): () => void;
}

/**
 * Node's own timers take delays up to 2^31-1 ms and fire one longer after 1 ms: the
 * clocks re-arm longer ones until due, and intervals are clamped to it ({@link timerDelay}).
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay as timers take it: 0 for NaN or less (at once), else `ms`. */
const atLeastZero = (ms: number): number => (Number.isNaN(ms) ? 0 : Math.max(0, ms));

/** A delay `setTimeout`/`setInterval` take as given: 0 for NaN or less, at most {@link MAX_TIMER_MS}. */
export const timerDelay = (ms: number): number => Math.min(atLeastZero(ms), MAX_TIMER_MS);

/** The real clock: `Date.now` and unref'd `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(fn, delayMs) {
    // NaN or negative: at once (NaN would otherwise re-arm every millisecond forever).
    const due = Date.now() + atLeastZero(delayMs);
    let timer: NodeJS.Timeout;
    const arm = () => {
      timer = setTimeout(
        () => {
          if (Date.now() >= due) fn();
          else arm();
        },
        timerDelay(due - Date.now()),
      );
      timer.unref();
    };
    arm();
    return () => clearTimeout(timer);
  },
};

interface PendingTimer {
  at: number;
  order: number;
  fn: () => void;
}

/**
 * A clock that moves only when told to. {@link advance} fires every timer that falls due on
 * the way, in due order (timers due at the same moment in the order they were set), with
 * {@link now} reading each timer's due time while it runs; timers those callbacks set fire
 * too when they fall due before the target time.
 *
 * @example
 * const clock = new ManualClock();
 * const server = await startServer({ clock, settings: { "portarium.tokenTtlSeconds": "60" } });
 * clock.advance(61_000); // every token issued so far has expired
 */
export class ManualClock implements Clock {
  #now: number;
  #order = 0;
  readonly #timers = new Set<PendingTimer>();

  /** @param startMs the initial time, Unix ms (default 2025-01-01T00:00:00Z). */
  constructor(startMs = Date.UTC(2025, 0, 1)) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, delayMs: number): () => void {
    const timer: PendingTimer = { at: this.#now + atLeastZero(delayMs), order: this.#order++, fn };
    this.#timers.add(timer);
    return () => {
      this.#timers.delete(timer);
    };
  }

  /** How many timers are waiting to fire. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /**
   * Moves time forward by `ms`, firing the timers that fall due meanwhile.
   *
   * @throws {RangeError} when `ms` is negative or not finite: time does not go back.
   */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`advance wants a finite ms >= 0, got ${ms}`);
    const target = this.#now + ms;
    for (;;) {
      let next: PendingTimer | undefined;
      for (const t of this.#timers) {
        if (t.at <= target && (!next || t.at < next.at || (t.at === next.at && t.order < next.order))) next = t;
      }
      if (!next) break;
      this.#timers.delete(next);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    this.#now = target;
  }
}

/** The clock's time as an ISO 8601 timestamp, as records and events carry it. */
export const isoNow = (clock: Clock): string => new Date(clock.now()).toISOString();
