import { afterEach, describe, expect, it, vi } from "vitest";
import { MAX_TIMER_MS, ManualClock, systemClock, timerDelay } from "./clock.js";

describe("ManualClock", () => {
  it("fires timers in due order as time passes, reading each one's due time", () => {
    const clock = new ManualClock(1000);
    const fired: Array<[string, number]> = [];
    clock.setTimer(() => fired.push(["b", clock.now()]), 20);
    clock.setTimer(() => fired.push(["a", clock.now()]), 10);
    clock.setTimer(() => fired.push(["c", clock.now()]), 20);
    clock.advance(15);
    expect(fired).toEqual([["a", 1010]]);
    expect(clock.now()).toBe(1015);
    clock.advance(5);
    expect(fired).toEqual([
      ["a", 1010],
      ["b", 1020],
      ["c", 1020],
    ]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("fires timers set by firing timers when they fall due within the same advance", () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    const every = (ms: number) => {
      clock.setTimer(() => {
        fired.push(clock.now());
        every(ms);
      }, ms);
    };
    every(10);
    clock.advance(35);
    expect(fired).toEqual([10, 20, 30]);
    expect(clock.pendingTimers).toBe(1);
  });

  it("cancelled timers never fire; a zero or negative delay fires on the next advance", () => {
    const clock = new ManualClock(0);
    const fired: string[] = [];
    const cancel = clock.setTimer(() => fired.push("cancelled"), 5);
    clock.setTimer(() => fired.push("now"), -3);
    cancel();
    cancel();
    clock.advance(0);
    expect(fired).toEqual(["now"]);
    clock.advance(10);
    expect(fired).toEqual(["now"]);
  });

  it("refuses to go back in time", () => {
    const clock = new ManualClock(0);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(clock.now()).toBe(0);
  });
});

describe("systemClock", () => {
  it("reads Date.now and fires an unref'd timer that can be cancelled", async () => {
    const before = Date.now();
    expect(systemClock.now()).toBeGreaterThanOrEqual(before);
    const cancelled: string[] = [];
    systemClock.setTimer(() => cancelled.push("fired"), 0)();
    const fired = await new Promise<string>((resolve) => {
      systemClock.setTimer(() => resolve("fired"), 1);
    });
    expect(fired).toBe("fired");
    expect(cancelled).toEqual([]);
  });
});

describe("systemClock past Node's timer range", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  // Fake timers behave as Node's do: a setTimeout past 2^31-1 ms fires after 1 ms.
  for (const delay of [2 ** 31, 2 ** 31 + 5, 2 ** 53, 24 * 60 * 60 * 1000]) {
    it(`fires a ${delay} ms timer when due, not early`, () => {
      vi.useFakeTimers({ now: 0 });
      const fired: number[] = [];
      systemClock.setTimer(() => fired.push(Date.now()), delay);
      vi.advanceTimersByTime(10);
      expect(fired).toEqual([]);
      if (delay <= 2 ** 32) {
        vi.advanceTimersByTime(delay - 11);
        expect(fired).toEqual([]);
        vi.advanceTimersByTime(1);
        expect(fired).toEqual([delay]);
      }
    });
  }

  it("fires a NaN or negative delay at once, once", () => {
    vi.useFakeTimers({ now: 0 });
    let n = 0;
    systemClock.setTimer(() => n++, Number.NaN);
    systemClock.setTimer(() => n++, -5);
    vi.advanceTimersByTime(100);
    expect(n).toBe(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("timerDelay clamps what setInterval gets", () => {
    expect(timerDelay(2 ** 40)).toBe(MAX_TIMER_MS);
    expect(timerDelay(Number.NaN)).toBe(0);
    expect(timerDelay(-1)).toBe(0);
    expect(timerDelay(50)).toBe(50);
  });
});

describe("ManualClock delays", () => {
  it("fires a NaN delay at once", () => {
    const clock = new ManualClock(0);
    let fired = false;
    clock.setTimer(() => {
      fired = true;
    }, Number.NaN);
    clock.advance(0);
    expect(fired).toBe(true);
  });
});
