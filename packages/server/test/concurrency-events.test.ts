// 1,000 concurrent ORCA StreamEvents calls, over gRPC on HTTP/2 and Connect on HTTP/1.1,
// while the run's events are being appended: each stream sees every event it asked for
// exactly once and in order, whether it started in the replay or joined live. Raw Connect
// clients, not @baton/orca, whose resumable stream drops repeated ids and would hide a
// duplicate the server sent. The store yields at every operation, so appends and reads
// really interleave. Afterwards the server holds nothing for those streams.
import type { ClientHttp2Session } from "node:http2";
import { Connection } from "@baton/core";
import { type BatonServer, type OrcaModule, orcaModule, startServer } from "@baton/server";
import {
  EnvelopeSchema,
  Orchestrator,
  StartRunRequestSchema,
  StreamEventsRequestSchema,
  SubmitTaskRequestSchema,
} from "@baton/wire/orca";
import { create } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import {
  call,
  closeDialled,
  dial,
  frame,
  pollUntil,
  SCALE_TEST_TIMEOUT_MS,
  settle,
  socketOf,
  yieldingStore,
} from "./concurrency-support.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  closeDialled();
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Harness {
  server: BatonServer;
  orca: OrcaModule;
  /** Clients over `n` gRPC (HTTP/2) connections and `m` Connect (HTTP/1.1) ones. */
  clients: Array<Client<typeof Orchestrator>>;
}

async function start(grpcConnections: number, connectConnections: number): Promise<Harness> {
  const server = await startServer({ listen: ["127.0.0.1:0"], modules: [orcaModule({ store: yieldingStore() })] });
  cleanups.push(() => server.close());
  const address = server.addresses[0] as string;
  const connections = [
    ...Array.from({ length: grpcConnections }, () => new Connection({ address, retry: false, dialTimeoutMs: 60_000 })),
    ...Array.from(
      { length: connectConnections },
      () => new Connection({ address, retry: false, dialTimeoutMs: 60_000, protocol: "connect", httpVersion: "1.1" }),
    ),
  ];
  cleanups.push(async () => {
    for (const c of connections) await c.close();
  });
  return {
    server,
    orca: server.modules.get("orca") as OrcaModule,
    clients: connections.map((c) => createClient(Orchestrator, c.transport)),
  };
}

const STREAM_EVENTS = `/${Orchestrator.typeName}/StreamEvents`;
const task = (id: string) => create(EnvelopeSchema, { id, kind: "agent_task", payloadJson: "{}", protocolVersion: 1 });

/** The ids a stream receives, until the server ends it. */
async function collect(client: Client<typeof Orchestrator>, runId: string, from: number, maxEvents: number) {
  const ids: number[] = [];
  for await (const r of client.streamEvents({ runId, startEventId: BigInt(from), maxEvents }))
    ids.push(Number(r.event?.id));
  return ids;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe("1,000 concurrent ORCA event streams", () => {
  it("each sees every event exactly once, in order, from replay through live", {
    timeout: SCALE_TEST_TIMEOUT_MS,
  }, async () => {
    // 900 streams over 9 HTTP/2 connections (100 each), 100 over Connect on HTTP/1.1 (a socket each).
    const h = await start(9, 100);
    const runId = "streams-1000";
    await h.clients[0]?.startRun({ workflowId: runId });
    const tasks = 12;
    const total = 1 + tasks; // start_run, then one task_enqueued per task
    // Stream i starts at event `from` (0: the whole history) and asks for the rest of the
    // run, so the server ends it after event `total`.
    const from = (i: number) => (i % 4 === 0 ? 0 : 1 + ((i * 37) % total));
    const expected = (i: number) => range(Math.max(1, from(i)), total);
    const open = (i: number) => {
      const client = h.clients[i < 900 ? Math.floor(i / 100) : 9 + (i - 900)];
      if (!client) throw new Error(`no client for stream ${i}`);
      return collect(client, runId, from(i), expected(i).length);
    };

    // Half the streams are open and following before the first task; the other half join
    // while the tasks are being submitted, landing in the replay, the live tail or between.
    const streams: Array<Promise<number[]>> = [];
    for (let i = 0; i < 1000; i += 2) streams.push(open(i));
    const followers = await pollUntil(
      () => h.orca.service.streams.open,
      (n) => n >= 500,
    );
    expect(followers).toBe(500);
    const submits: Array<Promise<unknown>> = [];
    for (let t = 0; t < tasks; t++) {
      submits.push(h.clients[t % 9]?.submitTask({ runId, task: task(`t${t}`) }) as Promise<unknown>);
      for (let i = 1 + 2 * Math.floor((t * 500) / tasks); i < 2 * Math.floor(((t + 1) * 500) / tasks); i += 2)
        streams.push(open(i));
      if (t % 4 === 3) await submits[t];
    }
    expect((await settle(submits)).filter((o) => !o.ok)).toEqual([]);

    // Stream i is streams[order.indexOf(i)]: evens were opened first, odds after.
    const order = [...range(0, 499).map((k) => 2 * k), ...range(0, 499).map((k) => 2 * k + 1)];
    const results = await settle(streams);
    const wrong = results.flatMap((r, k): Array<{ i: number; error?: string; got?: number[] }> => {
      const i = order[k] as number;
      if (!r.ok) return [{ i, error: String(r.error) }];
      const want = expected(i);
      return r.value.length === want.length && r.value.every((id, j) => id === want[j]) ? [] : [{ i, got: r.value }];
    });
    expect(wrong).toEqual([]);
    expect(results).toHaveLength(1000);

    // Every stream ended: none is running or asleep on the run, and no request is open.
    const after = await pollUntil(
      () => ({ ...h.orca.service.streams, requests: h.server.stats().requests }),
      (s) => s.open === 0 && s.waiting === 0 && s.requests === 0,
    );
    expect(after).toEqual({ open: 0, waiting: 0, requests: 0 });
  });
});

describe("ORCA event streams whose connections drop mid-write", () => {
  it("end on the server: nothing running, nothing waiting, no request open", async () => {
    const h = await start(1, 0);
    const runId = "dropped";
    await h.orca.service.startRun(create(StartRunRequestSchema, { workflowId: runId }));
    // 100 events of 2 KB: each stream's replay is far more than HTTP/2's 64 KiB window, so
    // with a client that reads nothing every handler is suspended mid-write.
    const payloadJson = JSON.stringify({ text: "x".repeat(2048) });
    for (let t = 0; t < 100; t++)
      await h.orca.service.submitTask(
        create(SubmitTaskRequestSchema, { runId, task: { ...task(`t${t}`), payloadJson } }),
      );
    const address = h.server.addresses[0] as string;
    const sessions = await Promise.all(Array.from({ length: 4 }, () => dial(address)));
    const request = frame(StreamEventsRequestSchema, { runId });
    for (let i = 0; i < 200; i++)
      call(sessions[i % 4] as ClientHttp2Session, STREAM_EVENTS, request, { read: false, end: true });
    const stuck = await pollUntil(
      () => ({ open: h.orca.service.streams.open, buffered: h.server.stats().bufferedBytes }),
      (s) => s.open === 200 && s.buffered > 0,
    );
    expect(stuck.open).toBe(200);
    expect(stuck.buffered).toBeGreaterThan(0);
    // Two connections closed, two reset.
    sessions.forEach((s, i) => {
      if (i % 2 === 0) socketOf(s).destroy();
      else socketOf(s).resetAndDestroy();
    });
    const after = await pollUntil(
      () => ({
        ...h.orca.service.streams,
        requests: h.server.stats().requests,
        connections: h.server.stats().connections,
      }),
      (s) => s.open === 0 && s.waiting === 0 && s.requests === 0 && s.connections === 0,
    );
    expect(after).toEqual({ open: 0, waiting: 0, requests: 0, connections: 0 });
  });
});
