import { InvalidArgumentError } from "@baton/core";
import { describe, expect, it } from "vitest";
import { buildEnvelope, PROTOCOL_VERSION } from "./run-handle.js";

describe("buildEnvelope", () => {
  it("fills id, ts_ms, protocol_version, kind and JSON payload", () => {
    const e = buildEnvelope({ payload: { a: [1, "x"] } }, () => 1234);
    expect(e.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(e.tsMs).toBe(1234n);
    expect(e.protocolVersion).toBe(PROTOCOL_VERSION);
    expect(e.kind).toBe("agent_task");
    expect(e.payloadJson).toBe('{"a":[1,"x"]}');
    expect(e.usage).toBeUndefined();
    expect(buildEnvelope({}).payloadJson).toBe("{}");
    expect(buildEnvelope({}).id).not.toBe(buildEnvelope({}).id);
  });
  it("keeps what the caller set", () => {
    const e = buildEnvelope({
      id: "t1",
      payloadJson: "[1]",
      kind: "agent_result",
      parentId: "p",
      tsMs: 5,
      timeoutMs: 9,
      usage: { tokens: 3 },
    });
    expect(e).toMatchObject({
      id: "t1",
      payloadJson: "[1]",
      kind: "agent_result",
      parentId: "p",
      tsMs: 5n,
      timeoutMs: 9n,
    });
    expect(e.usage).toMatchObject({ tokens: 3n, costMicros: 0n });
  });
  it("refuses unserialisable payloads and bad numbers", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => buildEnvelope({ payload: cyclic })).toThrow(InvalidArgumentError);
    expect(() => buildEnvelope({ payload: () => 1 })).toThrow(InvalidArgumentError);
    expect(() => buildEnvelope({ timeoutMs: -1 })).toThrow(InvalidArgumentError);
    expect(() => buildEnvelope({ usage: { tokens: 1.5 } })).toThrow(InvalidArgumentError);
  });
});
