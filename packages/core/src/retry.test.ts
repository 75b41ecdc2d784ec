import { describe, expect, it } from "vitest";
import { BatonError, Code, InvalidArgumentError, ResourceExhaustedError } from "./errors.js";
import { backoffDelay, defaultRetryPolicy, isRetryableError, resolveRetryPolicy, sleep } from "./retry.js";

describe("retry policy", () => {
  it("grows exponentially, caps, and jitters downwards only", () => {
    const p = resolveRetryPolicy({ initialBackoffMs: 100, maxBackoffMs: 1000, multiplier: 2, jitter: 0.5 });
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, p, undefined, () => 0))).toEqual([100, 200, 400, 800, 1000]);
    expect(backoffDelay(2, p, undefined, () => 1)).toBe(100);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(3, p);
      expect(d).toBeGreaterThanOrEqual(200);
      expect(d).toBeLessThanOrEqual(400);
    }
  });
  it("lets the server's delay win", () => {
    expect(backoffDelay(1, defaultRetryPolicy, 1234)).toBe(1234);
  });
  it("is off with false and validates settings", () => {
    expect(resolveRetryPolicy(false).maxAttempts).toBe(1);
    expect(() => resolveRetryPolicy({ maxAttempts: 0 })).toThrow(InvalidArgumentError);
    expect(() => resolveRetryPolicy({ jitter: 2 })).toThrow(InvalidArgumentError);
    expect(() => resolveRetryPolicy({ initialBackoffMs: Number.NaN })).toThrow(InvalidArgumentError);
  });
  it("retries transient codes only", () => {
    const p = defaultRetryPolicy;
    expect(isRetryableError(new BatonError("x", { code: Code.Unavailable }), p)).toBe(true);
    expect(isRetryableError(new BatonError("x", { code: Code.Internal }), p)).toBe(false);
    expect(isRetryableError(new BatonError("x", { code: Code.DeadlineExceeded }), p)).toBe(false);
    expect(isRetryableError(new ResourceExhaustedError("quota"), p)).toBe(false);
    expect(isRetryableError(new ResourceExhaustedError("rate", { retryAfterMs: 10 }), p)).toBe(true);
  });
  it("sleeps until aborted", async () => {
    const c = new AbortController();
    const s = sleep(10_000, c.signal);
    c.abort(new Error("stop"));
    await expect(s).rejects.toThrow("stop");
  });
});
