import { describe, expect, it } from "vitest";
import { Code, InvalidArgumentError, ResourceExhaustedError, UnavailableError } from "./errors.js";
import { resolveRetryPolicy, withRetries } from "./retry.js";

const policy = resolveRetryPolicy({ maxAttempts: 4, initialBackoffMs: 100, multiplier: 2, jitter: 0 });

describe("withRetries", () => {
  it("retries transient failures with exponential backoff, then succeeds", async () => {
    const waits: number[] = [];
    let n = 0;
    const value = await withRetries(
      async () => {
        if (++n < 3) throw new UnavailableError("down");
        return "ok";
      },
      { policy, sleep: async (ms) => void waits.push(ms) },
    );
    expect(value).toBe("ok");
    expect(waits).toEqual([100, 200]);
  });

  it("honours the server's delay and gives up after maxAttempts with the last failure", async () => {
    const waits: number[] = [];
    let n = 0;
    const err = await withRetries(
      async () => {
        n++;
        throw new ResourceExhaustedError(`slow down ${n}`, { retryAfterMs: 1234 });
      },
      { policy, sleep: async (ms) => void waits.push(ms) },
    ).catch((e: unknown) => e);
    expect((err as Error).message).toBe("slow down 4");
    expect(waits).toEqual([1234, 1234, 1234]);
  });

  it("does not retry what is not transient, nor after the signal aborts", async () => {
    let n = 0;
    await expect(
      withRetries(
        async () => {
          n++;
          throw new InvalidArgumentError("bad");
        },
        { policy, sleep: async () => {} },
      ),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(n).toBe(1);
    const ac = new AbortController();
    let m = 0;
    await expect(
      withRetries(
        async () => {
          m++;
          ac.abort();
          throw new UnavailableError("down");
        },
        { policy, signal: ac.signal, sleep: async () => {} },
      ),
    ).rejects.toMatchObject({ code: Code.Unavailable });
    expect(m).toBe(1);
  });
});
