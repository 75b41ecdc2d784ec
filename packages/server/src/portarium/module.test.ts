import { describe, expect, it } from "vitest";
import { DEFAULT_PORTARIUM_SETTINGS, portariumSettings } from "./module.js";

describe("portariumSettings", () => {
  it("has a 24 h idempotency window by default", () => {
    expect(portariumSettings(new Map())).toEqual(DEFAULT_PORTARIUM_SETTINGS);
    expect(DEFAULT_PORTARIUM_SETTINGS.idempotencyTtlMs).toBe(86_400_000);
  });

  it("reads each setting", () => {
    const s = portariumSettings(
      new Map([
        ["portarium.tokenTtlSeconds", "60"],
        ["portarium.idempotencyTtlMs", "250.5"],
        ["portarium.idempotencyMaxEntries", "7"],
      ]),
    );
    expect(s).toEqual({ tokenTtlSeconds: 60, idempotencyTtlMs: 250.5, idempotencyMaxEntries: 7 });
  });

  it.each([
    ["portarium.idempotencyTtlMs", "0"],
    ["portarium.idempotencyTtlMs", ""],
    ["portarium.idempotencyMaxEntries", "2.5"],
    ["portarium.idempotencyMaxEntries", "0"],
    ["portarium.tokenTtlSeconds", "Infinity"],
  ])("refuses %s=%j", (key, value) => {
    expect(() => portariumSettings(new Map([[key, value]]))).toThrow(key);
  });
});
