import { describe, expect, it } from "vitest";
import { DEFAULT_PORTARIUM_SETTINGS, portariumSettings } from "./settings.js";

describe("portariumSettings", () => {
  it("defaults: 1 s invocations, a 24 h idempotency window, 5 min machine heartbeats, public-only connection tests", () => {
    expect(portariumSettings(new Map())).toEqual({
      tokenTtlSeconds: 3600,
      invocationDurationMs: 1000,
      idempotencyTtlMs: 86_400_000,
      idempotencyMaxEntries: 10_000,
      sseKeepAliveMs: 15_000,
      machineHeartbeatTimeoutMs: 300_000,
      connectionTestAllow: "public",
      maxRunsPerWorkspace: 10_000,
      maxApprovalsPerWorkspace: 10_000,
      maxEvidencePerWorkspace: 100_000,
      maxInvocationsPerWorkspace: 10_000,
    });
    expect(portariumSettings(new Map())).toEqual(DEFAULT_PORTARIUM_SETTINGS);
  });

  it("reads each setting", () => {
    const s = portariumSettings(
      new Map([
        ["portarium.tokenTtlSeconds", "60"],
        ["portarium.invocationDurationMs", "0"],
        ["portarium.idempotencyTtlMs", "250.5"],
        ["portarium.idempotencyMaxEntries", "7"],
        ["portarium.sseKeepAliveMs", "500"],
        ["portarium.machineHeartbeatTimeoutMs", "90000"],
        ["portarium.connectionTestAllow", "public,10.0.0.0/8,[::1]:8080,agents.internal:443"],
        ["portarium.maxRunsPerWorkspace", "5"],
        ["portarium.maxApprovalsPerWorkspace", "6"],
        ["portarium.maxEvidencePerWorkspace", "7"],
        ["portarium.maxInvocationsPerWorkspace", "8"],
      ]),
    );
    expect(s).toEqual({
      tokenTtlSeconds: 60,
      invocationDurationMs: 0,
      idempotencyTtlMs: 250.5,
      idempotencyMaxEntries: 7,
      sseKeepAliveMs: 500,
      machineHeartbeatTimeoutMs: 90_000,
      connectionTestAllow: "public,10.0.0.0/8,[::1]:8080,agents.internal:443",
      maxRunsPerWorkspace: 5,
      maxApprovalsPerWorkspace: 6,
      maxEvidencePerWorkspace: 7,
      maxInvocationsPerWorkspace: 8,
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
    ["portarium.machineHeartbeatTimeoutMs", "0"],
    ["portarium.connectionTestScope", "any"],
    ["portarium.connectionTestAllow", "10.0.0.0/33"],
    ["portarium.connectionTestAllow", "127.0.0.1:99999"],
    ["portarium.connectionTestAllow", "300.1.1.1"],
    ["portarium.connectionTestAllow", "bad_host!"],
    ["portarium.maxRunsPerWorkspace", "0"],
    ["portarium.maxEvidencePerWorkspace", "1.5"],
  ])("refuses %s=%j", (key, value) => {
    expect(() => portariumSettings(new Map([[key, value]]))).toThrow(key);
  });
});
