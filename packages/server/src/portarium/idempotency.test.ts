import { describe, expect, it } from "vitest";
import { IdempotencyCache } from "./idempotency.js";

/** A clock the test moves by hand. */
function manualClock(start = 1000) {
  let t = start;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

describe("IdempotencyCache", () => {
  it("keeps a record for ttlMs from when it was stored, then forgets it", () => {
    const clock = manualClock();
    const cache = new IdempotencyCache<string>({ ttlMs: 100, maxEntries: 10, now: clock.now });
    cache.set("k", "first");
    clock.advance(99);
    expect(cache.get("k")).toBe("first");
    clock.advance(1);
    expect(cache.get("k")).toBeUndefined();
    expect(cache.size).toBe(0);
    // An expired key is free again, for any value.
    cache.set("k", "second");
    expect(cache.get("k")).toBe("second");
    clock.advance(99);
    expect(cache.get("k")).toBe("second");
  });

  it("reading a record does not extend its life", () => {
    const clock = manualClock();
    const cache = new IdempotencyCache<number>({ ttlMs: 100, maxEntries: 10, now: clock.now });
    cache.set("k", 1);
    for (let i = 0; i < 5; i++) {
      clock.advance(19);
      expect(cache.get("k")).toBe(1);
    }
    clock.advance(5);
    expect(cache.get("k")).toBeUndefined();
  });

  it("holds at most maxEntries, evicting the oldest first", () => {
    const clock = manualClock();
    const cache = new IdempotencyCache<number>({ ttlMs: 10_000, maxEntries: 3, now: clock.now });
    for (let i = 1; i <= 5; i++) {
      cache.set(`k${i}`, i);
      clock.advance(1);
    }
    expect(cache.size).toBe(3);
    expect([1, 2, 3, 4, 5].map((i) => cache.get(`k${i}`))).toEqual([undefined, undefined, 3, 4, 5]);
  });

  it("storing drops expired records before evicting live ones", () => {
    const clock = manualClock();
    const cache = new IdempotencyCache<string>({ ttlMs: 100, maxEntries: 3, now: clock.now });
    cache.set("old-1", "a");
    cache.set("old-2", "b");
    clock.advance(50);
    cache.set("live", "c");
    clock.advance(60); // old-1 and old-2 have expired, live has not
    cache.set("new", "d");
    expect(cache.size).toBe(2);
    expect(cache.get("live")).toBe("c");
    expect(cache.get("new")).toBe("d");
  });

  it("prune drops only what expired", () => {
    const clock = manualClock();
    const cache = new IdempotencyCache<number>({ ttlMs: 100, maxEntries: 100, now: clock.now });
    for (let i = 0; i < 10; i++) {
      cache.set(`k${i}`, i);
      clock.advance(10);
    }
    // k0 was stored at 1000, k9 at 1090; now is 1100: k0 has expired.
    cache.prune();
    expect(cache.size).toBe(9);
    clock.advance(45);
    cache.prune();
    expect(cache.size).toBe(5);
  });

  it("refuses settings that would not bound anything", () => {
    expect(() => new IdempotencyCache({ ttlMs: 0, maxEntries: 1 })).toThrow(RangeError);
    expect(() => new IdempotencyCache({ ttlMs: Number.NaN, maxEntries: 1 })).toThrow(RangeError);
    expect(() => new IdempotencyCache({ ttlMs: 1, maxEntries: 0 })).toThrow(RangeError);
    expect(() => new IdempotencyCache({ ttlMs: 1, maxEntries: 1.5 })).toThrow(RangeError);
  });
});
