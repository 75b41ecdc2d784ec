import { Connection, InvalidArgumentError, UnavailableError } from "@baton/core";
import { EnvelopeSchema, type Orchestrator, type StreamEventsResponse } from "@baton/wire/orca";
import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { BudgetView } from "./budget.js";
import { buildEnvelope, PROTOCOL_VERSION, RunHandle } from "./run-handle.js";

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

describe("RunHandle.events", () => {
  it("resumes after the last id and drops ids it already delivered, even if the server repeats them", async () => {
    const opened: bigint[] = [];
    // First connection: ids 1-3, then a drop. Second: starts one too early (3-5), as a
    // server with an inclusive cursor would.
    const connections = [
      { ids: [1, 2, 3], drop: true },
      { ids: [3, 4, 5], drop: false },
    ];
    const raw = {
      streamEvents(req: { startEventId: bigint }) {
        opened.push(req.startEventId);
        const c = connections.shift();
        return (async function* (): AsyncGenerator<StreamEventsResponse> {
          for (const id of c?.ids ?? []) {
            yield { $typeName: "orca.v1.StreamEventsResponse", event: create(EnvelopeSchema, { id: String(id) }) };
          }
          if (c?.drop) throw new UnavailableError("connection dropped");
        })();
      },
    } as unknown as Client<typeof Orchestrator>;
    const connection = new Connection({ address: "127.0.0.1:1" });
    const run = new RunHandle(raw, connection, "r1", new BudgetView());
    const ids: number[] = [];
    for await (const ev of run.events({ max: 5, maxReconnects: 3 })) ids.push(ev.id);
    expect(ids).toEqual([1, 2, 3, 4, 5]);
    expect(opened).toEqual([1n, 4n]);
    await connection.close();
  });
});
