// Invocation streams are bounded by silence, not by the unary deadline: idleTimeoutMs fails
// a stream that sends nothing (keep-alive comments count), timeoutMs never cuts one.
import {
  DeadlineExceededError,
  MAX_SSE_EVENT_CHARS,
  type MachineInvocationEvent,
  PortariumClient,
  type PortariumClientOptions,
  ProtocolError,
} from "@baton/portarium";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoClient, pollUntil, startHttp, startPortarium, type TestServer } from "./support.js";

/** Longer than every idle and unary timeout below, so a cut would show. */
const QUIET_MS = 600;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("stream idle timeouts", () => {
  let t: TestServer;
  const clients: PortariumClient[] = [];
  beforeAll(async () => {
    // Invocations that end only when their machine goes; keep-alives rarer than any test waits.
    t = await startPortarium({ "portarium.invocationDurationMs": "600000" });
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await t.server.close();
  });

  const clientOf = (options: PortariumClientOptions = {}) => {
    const c = demoClient(t.address, options);
    clients.push(c);
    return c;
  };

  /** A waiting invocation and an iterator over its events, past the first (`accepted`). */
  async function quietStream(c: PortariumClient, options: { idleTimeoutMs?: number } = {}) {
    const m = await c.machines.register({ hostname: "quiet" });
    const inv = await c.machines.invoke(m.machineId, { action: "wait" });
    const events = c.machines.streamInvocation(m.machineId, inv.invocationId, options);
    expect((await events.next()).value).toMatchObject({ status: "accepted" });
    return { machineId: m.machineId, events };
  }

  it("idleTimeoutMs (the client's or the call's) fails a silent stream with DeadlineExceededError", async () => {
    const runner = t.module.service.invocations;
    const byClient = await quietStream(clientOf({ idleTimeoutMs: 150 }));
    await expect(byClient.events.next()).rejects.toBeInstanceOf(DeadlineExceededError);
    const byCall = await quietStream(clientOf(), { idleTimeoutMs: 150 });
    await expect(byCall.events.next()).rejects.toBeInstanceOf(DeadlineExceededError);
    // The client hung up: the server holds no subscription for either stream.
    await pollUntil(
      () => runner.subscriptions,
      (n) => n === 0,
    );
  });

  it("neither the client's timeoutMs nor a call's idleTimeoutMs of 0 cuts a quiet stream", async () => {
    const c = clientOf({ timeoutMs: 400, idleTimeoutMs: 400 });
    const { machineId, events } = await quietStream(c, { idleTimeoutMs: 0 });
    await pause(QUIET_MS);
    await c.machines.deregister(machineId);
    const rest: MachineInvocationEvent[] = [];
    for (let r = await events.next(); !r.done; r = await events.next()) rest.push(r.value);
    expect(rest.map((e) => e.status)).toEqual(["failed"]);
  });

  it("keep-alive comments count as activity", async () => {
    const srv = await startPortarium({ "portarium.invocationDurationMs": "600000", "portarium.sseKeepAliveMs": "30" });
    const c = demoClient(srv.address, { idleTimeoutMs: 300 });
    try {
      const { machineId, events } = await quietStream(c);
      // Twice the idle timeout without an event, but with a comment every 30 ms.
      await pause(QUIET_MS);
      await c.machines.deregister(machineId);
      expect((await events.next()).value).toMatchObject({ status: "failed" });
      expect((await events.next()).done).toBe(true);
    } finally {
      await c.close();
      await srv.server.close();
    }
  });

  it("an event over MAX_SSE_EVENT_CHARS is a ProtocolError, and is not resumed", async () => {
    const srv = await startHttp((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(`id: 1\nevent: progress\ndata: ${"x".repeat(MAX_SSE_EVENT_CHARS + 1)}\n\n`);
    });
    const c = new PortariumClient({ address: srv.address, token: "tok", workspaceId: "ws-a" });
    try {
      const err = await c.machines
        .streamInvocation("m-1", "inv-1")
        .next()
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as Error).message).toContain(`exceeds ${MAX_SSE_EVENT_CHARS} chars`);
      expect(srv.seen).toHaveLength(1);
    } finally {
      await c.close();
      await srv.close();
    }
  });

  it("an event that is not JSON is a ProtocolError, and is not resumed", async () => {
    const srv = await startHttp((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end("id: 1\nevent: progress\ndata: {not json\n\n");
    });
    const c = new PortariumClient({ address: srv.address, token: "tok", workspaceId: "ws-a" });
    try {
      await expect(c.machines.streamInvocation("m-1", "inv-1").next()).rejects.toBeInstanceOf(ProtocolError);
      expect(srv.seen.map((s) => s.path)).toEqual(["/v1/workspaces/ws-a/machines/m-1/invocations/inv-1/stream"]);
      expect(srv.seen[0]?.headers.accept).toBe("text/event-stream");
    } finally {
      await c.close();
      await srv.close();
    }
  });
});
