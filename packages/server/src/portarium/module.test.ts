import { describe, expect, it } from "vitest";
import { DEFAULT_PORTARIUM_SETTINGS, portariumSettings } from "./module.js";

describe("portariumSettings", () => {
  it("has small invocation durations and a 24 h idempotency window by default", () => {
    expect(portariumSettings(new Map())).toEqual(DEFAULT_PORTARIUM_SETTINGS);
    expect(DEFAULT_PORTARIUM_SETTINGS.idempotencyTtlMs).toBe(86_400_000);
    expect(DEFAULT_PORTARIUM_SETTINGS.invocationDurationMs).toBeLessThanOrEqual(5000);
  });

  it("reads each setting", () => {
    const s = portariumSettings(
      new Map([
        ["portarium.tokenTtlSeconds", "60"],
        ["portarium.invocationDurationMs", "0"],
        ["portarium.idempotencyTtlMs", "250.5"],
        ["portarium.idempotencyMaxEntries", "7"],
        ["portarium.sseKeepAliveMs", "500"],
      ]),
    );
    expect(s).toEqual({
      tokenTtlSeconds: 60,
      invocationDurationMs: 0,
      idempotencyTtlMs: 250.5,
      idempotencyMaxEntries: 7,
      sseKeepAliveMs: 500,
    });
  });

  it.each([
    ["portarium.invocationDurationMs", "-1"],
    ["portarium.invocationDurationMs", "soon"],
    ["portarium.idempotencyTtlMs", "0"],
    ["portarium.idempotencyTtlMs", ""],
    ["portarium.idempotencyMaxEntries", "2.5"],
    ["portarium.idempotencyMaxEntries", "0"],
    ["portarium.tokenTtlSeconds", "Infinity"],
    ["portarium.sseKeepAliveMs", "-5"],
  ])("refuses %s=%j", (key, value) => {
    expect(() => portariumSettings(new Map([[key, value]]))).toThrow(key);
  });
});
