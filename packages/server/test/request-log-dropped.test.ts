// With info lines dropped (`--quiet`, `--log-level warn`, the default silent logger) the
// request log builds no lines, but every call still gets its request id: the caller's or a
// new one, on the request (handlers echo it) and on the answer's headers, streams included.
import { Connection, silentLogger } from "@baton/core";
import { type BatonServer, cliLogger, dropsInfo, startServer } from "@baton/server";
import { grpcHealth } from "@baton/wire/baaaht";
import { Orchestrator } from "@baton/wire/orca";
import { createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";

let server: BatonServer | undefined;
const connections: Connection[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) await c.close();
  await server?.close();
  server = undefined;
});

describe("request log with info dropped", () => {
  it("knows which loggers drop info lines", () => {
    expect(dropsInfo(silentLogger)).toBe(true);
    expect(dropsInfo(cliLogger("warn", "text", () => {}))).toBe(true);
    expect(dropsInfo(cliLogger("error", "json", () => {}))).toBe(true);
    expect(dropsInfo(cliLogger("info", "text", () => {}))).toBe(false);
    expect(dropsInfo({ ...silentLogger, info: () => {} })).toBe(false);
  });

  it("still sets x-request-id on unary answers and streams, and handlers see the same id", async () => {
    const lines: string[] = [];
    server = await startServer({ listen: ["127.0.0.1:0"], logger: cliLogger("warn", "json", (l) => lines.push(l)) });
    const address = server.addresses[0] as string;
    const conn = new Connection({ address });
    connections.push(conn);
    let header: Headers | undefined;
    await createClient(Orchestrator, conn.transport).startRun(
      { workflowId: "quiet" },
      { headers: { "x-request-id": "req-quiet" }, onHeader: (h) => (header = h) },
    );
    expect(header?.get("x-request-id")).toBe("req-quiet");

    // A server stream: its headers carry a new id when the caller sent none.
    const ac = new AbortController();
    let streamHeader: Headers | undefined;
    await expect(
      (async () => {
        for await (const _ of createClient(grpcHealth.Health, conn.transport).watch(
          { service: "" },
          { signal: ac.signal, onHeader: (h) => (streamHeader = h) },
        ))
          ac.abort();
      })(),
    ).rejects.toThrow();
    expect(streamHeader?.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);

    // Stratavore echoes the id the request log set on the request (Connect over HTTP/1.1).
    const sv = await fetch(`http://${address}/stratavore.v1.RunnerService/GetRunner`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ runnerId: "run-nope" }),
    });
    expect(sv.status).toBe(404);
    const echoed = sv.headers.get("x-request-id");
    expect(echoed).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.stringify(await sv.json())).toContain(echoed as string);
    expect(lines.filter((l) => l.includes('"msg":"request"'))).toEqual([]);
  });
});
