// Clients after a graceful restart: a subscription with no end time resumes on the server
// that comes up on the same address, from the last event's time, with no loss and no
// duplicates: whether the old server ended it with UNAVAILABLE (as baton-server does on
// shutdown) or cleanly (as a server that ends its followers quietly does).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BaaahtClient } from "@baton/baaaht";
import { type Event, EventSchema, EventType, OrchestratorService } from "@baton/baaaht/wire";
import { type BaaahtModule, type BatonServer, baaahtModule, type ModuleFactory, startServer } from "@baton/server";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { until } from "./helpers.js";

let dir: string;
let address: string;
const servers: BatonServer[] = [];
const clients: BaaahtClient[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "baaaht-restart-"));
  address = `unix://${join(dir, "b.sock")}`;
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const s of servers.splice(0)) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

async function serve(modules: ModuleFactory[]): Promise<BatonServer> {
  // No drain period: the followers end with UNAVAILABLE as soon as the server closes.
  const server = await startServer({ listen: [address], modules, shutdownTimeoutMs: 0 });
  servers.push(server);
  return server;
}

function client(): BaaahtClient {
  const c = new BaaahtClient({ address, reconnectIntervalMs: 100 });
  clients.push(c);
  return c;
}

/** Reads the iterator into `into` until it holds `n` items (or the iterator ends). */
async function read(it: AsyncIterator<Event>, into: Event[], n: number): Promise<void> {
  while (into.length < n) {
    const r = await it.next();
    if (r.done) return;
    into.push(r.value);
  }
}

describe("after a graceful restart", () => {
  it("events.subscribe() resumes on the new server: every event of both, once, in order", async () => {
    const first = await serve([baaahtModule()]);
    const log1 = (first.modules.get("baaaht") as BaaahtModule).state.events;
    const sub = client().events.subscribe({ source: "restart-test" })[Symbol.asyncIterator]();
    const got: Event[] = [];
    let reading = read(sub, got, 3);
    await until(() => log1.followers === 1);
    const emit = (server: BatonServer, n: string) =>
      (server.modules.get("baaaht") as BaaahtModule).state.emit(EventType.SYSTEM_STARTUP, {
        source: "restart-test",
        data: { n },
      });
    for (const n of ["a1", "a2", "a3"]) emit(first, n);
    await reading;
    reading = read(sub, got, 6);
    await first.close();
    servers.splice(servers.indexOf(first), 1);

    // The same address, a new server (its state starts empty, as baaaht's does).
    const second = await serve([baaahtModule()]);
    const log2 = (second.modules.get("baaaht") as BaaahtModule).state.events;
    // Two events before the client is back (replayed from the resume time), one after.
    emit(second, "b1");
    emit(second, "b2");
    await until(() => log2.followers === 1);
    emit(second, "b3");
    await reading;
    expect(got.map((e) => e.data.n)).toEqual(["a1", "a2", "a3", "b1", "b2", "b3"]);
    expect(new Set(got.map((e) => e.id)).size).toBe(6);
    await sub.return?.();
  });

  it("a subscription the server ends cleanly is resumed too: it has no end time, so the end is the server's", async () => {
    // A server that sends the events from start_time on and then ends the stream cleanly,
    // every time, as a server that ends its followers quietly on shutdown does.
    const events: Event[] = [];
    const at = Date.now();
    const add = (n: number) =>
      events.push(
        create(EventSchema, {
          id: `evt-${n}`,
          type: EventType.SYSTEM_STARTUP,
          source: "quiet",
          timestamp: timestampFromMs(at + n),
        }),
      );
    let calls = 0;
    const quiet: ModuleFactory = () => ({
      name: "quiet",
      routes(router) {
        router.service(OrchestratorService, {
          async *subscribeEvents(req) {
            calls++;
            const from = req.filter?.startTime ? timestampMs(req.filter.startTime) : 0;
            yield* events.filter((e) => e.timestamp && timestampMs(e.timestamp) >= from);
          },
        });
      },
    });
    await serve([quiet]);
    add(1);
    add(2);
    const sub = client().events.subscribe({ since: at })[Symbol.asyncIterator]();
    const got: Event[] = [];
    await read(sub, got, 2);
    // The first stream ended after evt-2; evt-3 comes with a resumed one.
    add(3);
    await read(sub, got, 3);
    expect(got.map((e) => e.id)).toEqual(["evt-1", "evt-2", "evt-3"]);
    // Resumed from evt-2's time: evt-2 came again and was dropped.
    expect(calls).toBeGreaterThanOrEqual(2);
    await sub.return?.();
  });
});
