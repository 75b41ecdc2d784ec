import { describe, expect, it } from "vitest";
import { checkTimeout, deadline, MAX_TIMEOUT_MS } from "./deadline.js";
import { DeadlineExceededError, InvalidArgumentError } from "./errors.js";

describe("deadline", () => {
  it("has no signal without a timeout or a caller's signal, and never calls a failure its own", () => {
    const d = deadline(undefined, undefined);
    expect(d.signal).toBeUndefined();
    expect(d.exceeded(new Error("x"))).toBeUndefined();
    expect(deadline(0, undefined).signal).toBeUndefined();
  });

  it("passes the caller's signal through when there is no timeout", () => {
    const ctrl = new AbortController();
    expect(deadline(undefined, ctrl.signal).signal).toBe(ctrl.signal);
  });

  it("fires after timeoutMs (fractions round up) with a DeadlineExceededError carrying the cause", async () => {
    const d = deadline(5.2, undefined);
    await new Promise((resolve) => d.signal?.addEventListener("abort", resolve, { once: true }));
    const cause = new Error("stream cut");
    const err = d.exceeded(cause, "no result within 5.2 ms");
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect(err?.message).toBe("no result within 5.2 ms");
    expect(err?.cause).toBe(cause);
    expect(deadline(5, undefined).exceeded(cause)).toBeUndefined(); // not fired yet
  });

  it("leaves the caller's own abort to the caller", () => {
    const ctrl = new AbortController();
    const d = deadline(60_000, ctrl.signal);
    ctrl.abort(new Error("mine"));
    expect(d.signal?.aborted).toBe(true);
    expect(d.exceeded(new Error("x"))).toBeUndefined();
  });

  it("refuses timeouts a Node timer cannot wait, and bad numbers", () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, MAX_TIMEOUT_MS + 1, 2 ** 40]) {
      expect(() => deadline(bad, undefined), String(bad)).toThrow(InvalidArgumentError);
      expect(() => checkTimeout("idleTimeoutMs", bad), String(bad)).toThrow(/idleTimeoutMs must be a number of ms/);
    }
    expect(() => checkTimeout("timeoutMs", "10")).toThrow(InvalidArgumentError);
    expect(() => deadline(MAX_TIMEOUT_MS, undefined)).not.toThrow();
  });
});
