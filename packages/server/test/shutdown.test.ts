// Graceful shutdown over real sockets: calls in flight finish within the drain period
// (shutdownTimeoutMs, on the server's clock), then every stream still open ends with
// UNAVAILABLE "server shutting down", whether it idles as a follower or is still replaying,
// in every protocol; server-sent event streams end so their clients reconnect.

import { connect as dial } from "node:net";
import { Connection, type ConnectionOptions, callOrThrow } from "@baton/core";
import {
  type BaaahtModule,
  type BatonServer,
  baaahtModule,
  createOrcaModule,
  createPortariumModule,
  ManualClock,
  type ModuleFactory,
  type PortariumModule,
  startServer,
} from "@baton/server";
import { EventType, OrchestratorService } from "@baton/wire/baaaht";
import { FetchResultResponseSchema, Orchestrator } from "@baton/wire/orca";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { ACCOUNTS, invocation } from "./portarium-support.js";

const TIMEOUT = 10_000;
let server: BatonServer | undefined;
const connections: Connection[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) await c.close();
  await server?.close();
  server = undefined;
});

function connect(options: Omit<ConnectionOptions, "address">): Connection {
  const c = new Connection({ address: server?.addresses[0] as string, ...options });
  connections.push(c);
  return c;
}

/** The error an iterator ends with (or "ok" for a clean end), after taking what is left. */
async function ending(it: AsyncIterator<unknown>): Promise<{ taken: number; end: string }> {
  let taken = 0;
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) return { taken, end: "ok" };
      taken++;
    }
  } catch (err) {
    const ce = ConnectError.from(err);
    return { taken, end: `${Code[ce.code]}: ${ce.rawMessage}` };
  }
}

const protocols: Array<[string, Omit<ConnectionOptions, "address">]> = [
  ["gRPC over HTTP/2", { protocol: "grpc" }],
  ["Connect over HTTP/1.1", { protocol: "connect", httpVersion: "1.1" }],
  ["gRPC-Web over HTTP/1.1", { protocol: "grpc-web", httpVersion: "1.1" }],
];

describe.each(protocols)("shutdown, %s", (_name, options) => {
  it("ends an idle follower and a replaying follower with UNAVAILABLE after the drain period", async () => {
    const clock = new ManualClock();
    const history = 20_000;
    server = await startServer({
      listen: ["127.0.0.1:0"],
      clock,
      shutdownTimeoutMs: TIMEOUT,
      modules: [baaahtModule(), createOrcaModule],
      settings: { "baaaht.eventLogSize": String(history + 100) },
    });
    const state = (server.modules.get("baaaht") as BaaahtModule).state;
    for (let i = 0; i < history; i++) state.emit(EventType.SYSTEM_STARTUP, { source: `history-${i}` });
    const events = createClient(OrchestratorService, connect(options).transport);
    const orca = createClient(Orchestrator, connect(options).transport);

    // An idle baaaht follower: live events only; one arrives, so it is attached, then it waits.
    const idle = events.subscribeEvents({ filter: { source: "live" } })[Symbol.asyncIterator]();
    const first = idle.next();
    // Bounded: the subscription attaches within a few emits.
    let attached = false;
    for (let i = 0; i < 1000 && !attached; i++) {
      state.emit(EventType.SYSTEM_STARTUP, { source: "live" });
      attached = await Promise.race([
        first.then(() => true),
        new Promise<boolean>((r) => setImmediate(() => r(false))),
      ]);
    }
    expect(attached).toBe(true);
    // An idle ORCA follower, past the run's only event.
    const { runId } = await orca.startRun({ workflowId: "w" });
    const orcaIdle = orca.streamEvents({ runId })[Symbol.asyncIterator]();
    expect((await orcaIdle.next()).done).toBe(false);
    // A follower replaying the whole history that reads one event and then stops reading.
    const replaying = events.subscribeEvents({ filter: { startTime: timestampFromMs(0) } })[Symbol.asyncIterator]();
    expect((await replaying.next()).done).toBe(false);

    await first;
    const closed = server.close();
    // Within the drain period the followers are served as before.
    state.emit(EventType.SYSTEM_STARTUP, { source: "live", data: { during: "drain" } });
    let during: unknown;
    // Bounded: past the few live events the attach loop emitted.
    for (let i = 0; i < 1000 && during === undefined; i++) during = (await idle.next()).value?.data?.during;
    expect(during).toBe("drain");
    clock.advance(TIMEOUT);
    const ends = await Promise.all([ending(idle), ending(orcaIdle), ending(replaying)]);
    expect(ends.map((e) => e.end)).toEqual([
      "Unavailable: server shutting down",
      "Unavailable: server shutting down",
      "Unavailable: server shutting down",
    ]);
    // The replaying follower was cut short of the history, with a status all the same.
    expect(ends[2]?.taken).toBeLessThan(history);
    await closed;
  });

  it("lets a unary call in flight at shutdown finish, and ends without waiting out the drain period", async () => {
    let entered!: () => void;
    const inFlight = new Promise<void>((r) => {
      entered = r;
    });
    let release!: () => void;
    const released = new Promise<void>((r) => {
      release = r;
    });
    // A module whose FetchResult answers only when the test says so.
    const slow: ModuleFactory = () => ({
      name: "slow",
      routes(router) {
        router.service(Orchestrator, {
          async fetchResult(req) {
            entered();
            await released;
            return create(FetchResultResponseSchema, { result: { kind: "agent_result", parentId: req.parentId } });
          },
        });
      },
    });
    // The clock never moves: the drain ends only because the call finished.
    server = await startServer({ listen: ["127.0.0.1:0"], clock: new ManualClock(), modules: [slow] });
    const address = server.addresses[0] as string;
    const orca = createClient(Orchestrator, connect(options).transport);
    const call = orca.fetchResult({ runId: "r", parentId: "p" });
    await inFlight;
    const closed = server.close();
    // While the call drains, a new call is refused with UNAVAILABLE, on the same connection
    // (HTTP/2: after GOAWAY) as on a new one (the listener stopped accepting).
    // (A stream sent before the GOAWAY arrived is reset with REFUSED_STREAM: UNAVAILABLE too.)
    await expect(callOrThrow(() => orca.fetchResult({ runId: "r", parentId: "q" }))).rejects.toMatchObject({
      code: Code.Unavailable,
      retryable: true,
    });
    const late = createClient(Orchestrator, connect({ ...options }).transport);
    await expect(callOrThrow(() => late.fetchResult({ runId: "r", parentId: "q" }))).rejects.toMatchObject({
      code: Code.Unavailable,
    });
    release();
    await expect(call).resolves.toMatchObject({ result: { parentId: "p" } });
    await closed;
    expect(address).toMatch(/^127\.0\.0\.1:/);
  });
});

describe("shutdown, server-sent events", () => {
  it("serves an invocation stream through the drain period, then ends it before the terminal event", async () => {
    const clock = new ManualClock();
    server = await startServer({
      listen: ["127.0.0.1:0"],
      clock,
      shutdownTimeoutMs: 30_000,
      modules: [createPortariumModule],
      // Five steps over 100 s: one every 20 s, the terminal one at 100 s.
      settings: { "portarium.serviceAccounts": ACCOUNTS, "portarium.invocationDurationMs": "100000" },
    });
    const portarium = server.modules.get("portarium") as PortariumModule;
    const token = await portarium.signToken({ sub: "demo", workspace: "ws-a" });
    const base = `http://${server.addresses[0]}/v1/workspaces/ws-a/machines`;
    const json = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    const machine = await fetch(base, { method: "POST", headers: json, body: JSON.stringify({ hostname: "m" }) });
    const { machineId } = (await machine.json()) as { machineId: string };
    const posted = await fetch(`${base}/${machineId}/invocations`, {
      method: "POST",
      headers: json,
      body: JSON.stringify(invocation(machineId, "inv-1", "index")),
    });
    expect(posted.status).toBe(202);
    const [host, port] = (server.addresses[0] as string).split(":") as [string, string];
    const socket = dial({ host, port: Number(port) });
    let text = "";
    const ended = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    const arrived = (what: string) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (!text.includes(what)) return;
          socket.off("data", check);
          resolve();
        };
        socket.on("data", check);
        check();
      });
    socket.on("data", (d) => {
      text += d;
    });
    socket.write(
      `GET /v1/workspaces/ws-a/machines/${machineId}/invocations/inv-1/stream HTTP/1.1\r\nHost: ${host}\r\n` +
        `Authorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`,
    );
    await arrived("id: 1\n");
    const closed = server.close();
    // Within the drain period the stream goes on.
    clock.advance(25_000);
    await arrived("id: 2\n");
    // At its end the response ends (chunked terminator, connection closed), short of the terminal event.
    clock.advance(5_000);
    await ended;
    await closed;
    expect(text).toMatch(/\r\n0\r\n\r\n$/);
    expect(text).not.toMatch(/"status":"(completed|failed)"/);
  });
});
