// Machine invocations are real work: they move from accepted through running to a terminal
// status on the server's clock, observable by polling and by the SSE stream, which resumes
// after dropped connections and lets go of clients that leave.
import {
  DeadlineExceededError,
  type MachineInvocationEvent,
  NotFoundError,
  type PortariumClient,
  UnavailableError,
} from "@baton/portarium";
import { type BatonServer, createPortariumModule, type PortariumModule, parseCli, startServer } from "@baton/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ACCOUNTS,
  demoClient,
  pollUntil,
  type Recorded,
  recordingFetch,
  startPortarium,
  type TestServer,
} from "./support.js";

const transports = [
  { name: "HTTP/1.1", httpVersion: "1.1" as const },
  { name: "HTTP/2", httpVersion: "2" as const },
];

const clientOf = demoClient;

const RANK = { accepted: 0, running: 1, completed: 2, failed: 2 } as const;
const STREAM_PATH = /\/invocations\/[^/]+\/stream$/;

/** A server whose invocations take ten minutes: they only end when their machine goes. Configured as a user would, with `--set`. */
async function startSlow(): Promise<{ server: BatonServer; module: PortariumModule; address: string }> {
  const options = parseCli([
    "--listen",
    "127.0.0.1:0",
    "--set",
    `portarium.serviceAccounts=${ACCOUNTS}`,
    "--set",
    "portarium.validateResponses=true",
    "--set",
    "portarium.invocationDurationMs=600000",
    // Closing ends the streams still open at once, with no drain period.
    "--shutdown-timeout-ms",
    "0",
  ]);
  const server = await startServer({ ...options, modules: [createPortariumModule] });
  return {
    server,
    module: server.modules.get("portarium") as PortariumModule,
    address: `http://${server.addresses[0]}`,
  };
}

describe.each(transports)("machine invocations over $name", ({ httpVersion }) => {
  let fast: TestServer;
  let slow: Awaited<ReturnType<typeof startSlow>>;
  let quick: PortariumClient;
  let patient: PortariumClient;
  let records: Recorded[];

  beforeAll(async () => {
    fast = await startPortarium({ "portarium.invocationDurationMs": "300" });
    slow = await startSlow();
    const rec = recordingFetch((r) => patient.connection.fetch(r));
    records = rec.records;
    quick = clientOf(fast.address, { httpVersion });
    patient = clientOf(slow.address, { httpVersion, fetch: rec.fetch });
  });
  afterAll(async () => {
    await quick.close();
    await patient.close();
    await fast.server.close();
    await slow.server.close();
  });

  it("answers 202 accepted, then moves on over time, as polling getInvocation shows", async () => {
    const m = await quick.machines.register({ hostname: "build-01" });
    const inv = await quick.machines.invoke(m.machineId, { action: "compile" });
    expect(inv).toMatchObject({ status: "accepted", invocationId: inv.invocationId });
    expect(inv.statusUrl).toMatch(new RegExp(`/machines/${m.machineId}/invocations/${inv.invocationId}$`));
    const seen: string[] = [];
    const done = await pollUntil(
      async () => {
        const s = await quick.machines.getInvocation(m.machineId, inv.invocationId);
        seen.push(s.status);
        return s;
      },
      (s) => s.status === "completed",
    );
    // Nothing the reference machine could serve, so no artifact URIs are claimed.
    expect(done.outputArtifactUris).toBeUndefined();
    // Statuses only ever move forward.
    for (let i = 1; i < seen.length; i++) {
      expect(RANK[seen[i] as keyof typeof RANK]).toBeGreaterThanOrEqual(RANK[seen[i - 1] as keyof typeof RANK]);
    }
    // On a server whose invocations take ten minutes, one just created is still accepted.
    const sm = await patient.machines.register({ hostname: "build-02" });
    const pending = await patient.machines.invoke(sm.machineId, { action: "compile" });
    expect((await patient.machines.getInvocation(sm.machineId, pending.invocationId)).status).toBe("accepted");
    await patient.machines.deregister(sm.machineId);
  });

  it("streams every progress event in order and ends after the terminal one", async () => {
    const m = await quick.machines.register({ hostname: "build-03" });
    const inv = await quick.machines.invoke(m.machineId, { action: "package" });
    const events: MachineInvocationEvent[] = [];
    for await (const e of quick.machines.streamInvocation(m.machineId, inv.invocationId)) events.push(e);
    expect(events.map((e) => [e.status, e.progressRatio, e.step])).toEqual([
      ["accepted", 0, "queued"],
      ["running", 0.25, "prepare"],
      ["running", 0.5, "package"],
      ["running", 0.75, "collect-output"],
      ["completed", 1, "done"],
    ]);
    expect(events.every((e) => e.invocationId === inv.invocationId && e.schemaVersion === 1)).toBe(true);
    const final = await quick.machines.getInvocation(m.machineId, inv.invocationId);
    expect(final).toMatchObject({ status: "completed", invocationId: inv.invocationId });
    // The finish is in the evidence log, after the start.
    const summaries = (await quick.evidence.list({ category: "Action" }).toArray()).map((e) => e.summary);
    const started = summaries.indexOf(`machine build-03 invoked: package`);
    expect(started).toBeGreaterThanOrEqual(0);
    expect(summaries.indexOf(`machine invocation ${inv.invocationId} completed`)).toBeGreaterThan(started);
  });

  it("a late subscriber gets the history it missed, then live events; the machine going fails the invocation", async () => {
    const m = await patient.machines.register({ hostname: "build-04" });
    const inv = await patient.machines.invoke(m.machineId, { action: "deploy" });
    const live: string[] = [];
    const stream = patient.machines.streamInvocation(m.machineId, inv.invocationId)[Symbol.asyncIterator]();
    const first = await stream.next();
    live.push((first.value as MachineInvocationEvent).status);
    // The subscriber is connected and has the history; the next event can only come live.
    await patient.machines.deregister(m.machineId);
    for (let r = await stream.next(); !r.done; r = await stream.next()) live.push(r.value.status);
    expect(live).toEqual(["accepted", "failed"]);
    // The invocation stays readable after its machine went, with why it failed.
    const failed = await patient.machines.getInvocation(m.machineId, inv.invocationId);
    expect(failed).toMatchObject({ status: "failed", error: "machine build-04 was deregistered" });
    expect(failed.outputArtifactUris).toBeUndefined();
    const late: MachineInvocationEvent[] = [];
    for await (const e of patient.machines.streamInvocation(m.machineId, inv.invocationId)) late.push(e);
    expect(late.map((e) => e.status)).toEqual(["accepted", "failed"]);
    expect(late[1]?.diagnostics).toBe("machine build-04 was deregistered");
    expect(slow.module.service.invocations.running).toBe(0);
  });

  it("resumes a dropped stream after the last event it saw, without loss or duplicates", async () => {
    const m = await patient.machines.register({ hostname: "build-05" });
    const inv = await patient.machines.invoke(m.machineId, { action: "migrate" });
    const stream = patient.machines.streamInvocation(m.machineId, inv.invocationId)[Symbol.asyncIterator]();
    const statuses = [((await stream.next()).value as MachineInvocationEvent).status];
    const reconnects = () =>
      records.filter((r) => STREAM_PATH.test(r.path) && r.requestHeaders.get("last-event-id") === "1");
    expect(reconnects()).toHaveLength(0);
    slow.server.dropConnections();
    // The client reconnects by itself, asking for what follows event 1.
    const pending = stream.next();
    await pollUntil(reconnects, (r) => r.length > 0 && r.every((x) => x.status === 200));
    await patient.machines.deregister(m.machineId);
    for (let r = await pending; !r.done; r = await stream.next()) statuses.push(r.value.status);
    expect(statuses).toEqual(["accepted", "failed"]);
  });

  it("lets go of a client that stops reading; the invocation runs on", async () => {
    const m = await patient.machines.register({ hostname: "build-06" });
    const inv = await patient.machines.invoke(m.machineId, { action: "index" });
    const runner = slow.module.service.invocations;
    for await (const e of patient.machines.streamInvocation(m.machineId, inv.invocationId)) {
      expect(e.status).toBe("accepted");
      expect(runner.subscriptions).toBe(1);
      break;
    }
    await pollUntil(
      () => runner.subscriptions,
      (n) => n === 0,
    );
    expect(runner.running).toBe(1);
    expect((await patient.machines.getInvocation(m.machineId, inv.invocationId)).status).toBe("accepted");
    await patient.machines.deregister(m.machineId);
    expect(runner.running).toBe(0);
  });

  it("waitForInvocation answers the final state, or throws at its deadline", async () => {
    const m = await quick.machines.register({ hostname: "build-07" });
    const inv = await quick.machines.invoke(m.machineId, { action: "render", input: { frames: 3 } });
    const done = await quick.machines.waitForInvocation(m.machineId, inv.invocationId);
    expect(done).toMatchObject({ status: "completed", invocationId: inv.invocationId });

    const sm = await patient.machines.register({ hostname: "build-08" });
    const slowInv = await patient.machines.invoke(sm.machineId, { action: "render" });
    const err = await patient.machines
      .waitForInvocation(sm.machineId, slowInv.invocationId, { timeoutMs: 200 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    const waiting = patient.machines.waitForInvocation(sm.machineId, slowInv.invocationId);
    await patient.machines.deregister(sm.machineId);
    expect(await waiting).toMatchObject({ status: "failed", error: "machine build-08 was deregistered" });

    await expect(quick.machines.waitForInvocation(m.machineId, "no-such-invocation")).rejects.toBeInstanceOf(
      NotFoundError,
    );
    await expect(quick.machines.waitForInvocation("no-such-machine", inv.invocationId)).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });
});

describe("the invocation stream on the wire", () => {
  let t: TestServer;
  let auth: Record<string, string>;
  beforeAll(async () => {
    t = await startPortarium({ "portarium.invocationDurationMs": "0" });
    auth = { authorization: `Bearer ${await t.module.signToken({ sub: "demo", workspace: "ws-a" })}` };
  });
  afterAll(() => t.server.close());

  const sse = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${t.address}${path}`, { headers: { ...auth, accept: "text/event-stream", ...headers } });
    return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
  };

  it("sends ids, resumes after Last-Event-ID, and refuses a bad one as problem+json", async () => {
    const portarium = clientOf(t.address);
    const m = await portarium.machines.register({ hostname: "wire-01" });
    const inv = await portarium.machines.invoke(m.machineId, { action: "ping" });
    await portarium.machines.waitForInvocation(m.machineId, inv.invocationId);
    const base = `/v1/workspaces/ws-a/machines/${m.machineId}/invocations/${inv.invocationId}/stream`;

    const whole = await sse(base);
    expect(whole.status).toBe(200);
    expect(whole.type).toBe("text/event-stream");
    const ids = [...whole.text.matchAll(/^id: (\d+)$/gm)].map((x) => Number(x[1]));
    expect(ids).toEqual([1, 2, 3, 4, 5]);
    const data = [...whole.text.matchAll(/^data: (.*)$/gm)].map((x) => JSON.parse(x[1] as string).status);
    expect(data).toEqual(["accepted", "running", "running", "running", "completed"]);

    const rest = await sse(base, { "last-event-id": "3" });
    expect([...rest.text.matchAll(/^id: (\d+)$/gm)].map((x) => Number(x[1]))).toEqual([4, 5]);

    const bad = await sse(base, { "last-event-id": "three" });
    expect(bad.status).toBe(400);
    expect(bad.type).toBe("application/problem+json");
    expect(JSON.parse(bad.text)).toMatchObject({ status: 400, errors: { "header.Last-Event-ID": expect.any(Array) } });

    const missing = await sse(`/v1/workspaces/ws-a/machines/${m.machineId}/invocations/nope/stream`);
    expect(missing.status).toBe(404);
    expect(missing.type).toBe("application/problem+json");
    const foreign = await sse(`/v1/workspaces/ws-b/machines/${m.machineId}/invocations/${inv.invocationId}/stream`);
    expect(foreign.status).toBe(403);
  });

  it("refuses an invalid duration setting", async () => {
    await expect(startPortarium({ "portarium.invocationDurationMs": "-1" })).rejects.toThrow(
      "portarium.invocationDurationMs",
    );
    await expect(startPortarium({ "portarium.idempotencyMaxEntries": "0" })).rejects.toThrow(
      "portarium.idempotencyMaxEntries",
    );
  });
});

describe("closing the server", () => {
  it("clears every invocation timer and ends open streams", async () => {
    const slow = await startSlow();
    const portarium = clientOf(slow.address, { retry: false });
    const m = await portarium.machines.register({ hostname: "close-01" });
    const a = await portarium.machines.invoke(m.machineId, { action: "a" });
    await portarium.machines.invoke(m.machineId, { action: "b" });
    const runner = slow.module.service.invocations;
    expect(runner.running).toBe(2);
    const iterator = portarium.machines
      .streamInvocation(m.machineId, a.invocationId, { maxReconnects: 1 })
      [Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ status: "accepted" });
    expect(runner.subscriptions).toBe(1);
    const rest = iterator.next().catch((e: unknown) => e);
    await slow.server.close();
    expect(runner.running).toBe(0);
    expect(runner.subscriptions).toBe(0);
    // The client sees the stream end early, cannot reconnect to a closed server, and says so.
    expect(await rest).toBeInstanceOf(UnavailableError);
  });
});

describe("the client's timeoutMs bounds unary calls, not streams or waits", () => {
  it("a stream and a wait outlast a client timeoutMs shorter than the invocation", async () => {
    const srv = await startPortarium({ "portarium.invocationDurationMs": "1200" });
    // Three times shorter than the invocation: any stream it cut would fail.
    const c = clientOf(srv.address, { timeoutMs: 400 });
    try {
      const m = await c.machines.register({ hostname: "long-01" });
      const inv = await c.machines.invoke(m.machineId, { action: "render" });
      const statuses: string[] = [];
      for await (const e of c.machines.streamInvocation(m.machineId, inv.invocationId)) statuses.push(e.status);
      expect(statuses).toEqual(["accepted", "running", "running", "running", "completed"]);
      const next = await c.machines.invoke(m.machineId, { action: "render" });
      const done = await c.machines.waitForInvocation(m.machineId, next.invocationId);
      expect(done.status).toBe("completed");
    } finally {
      await c.close();
      await srv.server.close();
    }
  });
});

describe("keep-alive", () => {
  it("comments a quiet stream every portarium.sseKeepAliveMs, and the client skips the comments", async () => {
    const srv = await startPortarium({ "portarium.invocationDurationMs": "600000", "portarium.sseKeepAliveMs": "40" });
    const c = clientOf(srv.address);
    try {
      const m = await c.machines.register({ hostname: "quiet-01" });
      const inv = await c.machines.invoke(m.machineId, { action: "wait" });
      const statuses: string[] = [];
      const following = (async () => {
        const events = c.machines.streamInvocation(m.machineId, inv.invocationId);
        for await (const e of events) statuses.push(e.status);
      })();
      // The bytes of a second subscription: the history, then comments while nothing happens.
      const r = await c.raw.GET("/v1/workspaces/{workspaceId}/machines/{machineId}/invocations/{invocationId}/stream", {
        params: { path: { workspaceId: "ws-a", machineId: m.machineId, invocationId: inv.invocationId } },
        parseAs: "stream",
        signal: AbortSignal.timeout(5000),
      });
      const reader = (r.data as ReadableStream<Uint8Array>).getReader();
      const decoder = new TextDecoder();
      let text = "";
      while ((text.match(/^: keep-alive$/gm)?.length ?? 0) < 2) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended: ${text}`);
        text += decoder.decode(value, { stream: true });
      }
      await reader.cancel();
      expect(text).toMatch(/^id: 1\nevent: progress\ndata: \{.*"status":"accepted"/);
      // The invocation ends when its machine goes; the client saw events only.
      await c.machines.deregister(m.machineId);
      await following;
      expect(statuses).toEqual(["accepted", "failed"]);
    } finally {
      await c.close();
      await srv.server.close();
    }
  });

  it("refuses a keep-alive interval that is not positive", async () => {
    await expect(startPortarium({ "portarium.sseKeepAliveMs": "0" })).rejects.toThrow(/sseKeepAliveMs/);
  });
});
