// 1,000 abrupt disconnects of baaaht bidi streams (StreamMessages, StreamAgent), made at
// the wire with node:http2 so the test controls exactly how each call dies: RST_STREAM
// CANCEL on an established stream, the TCP connection destroyed or reset under many open
// streams, a first frame cut off halfway, a stream that never sent a frame, and a reset
// right after a write. Afterwards the server holds nothing for them: its open requests,
// connections, bidi calls, log followers and this process's socket handles return to the
// baseline (polled with a bound), and it still serves a new stream.

import { type ClientHttp2Session, constants } from "node:http2";
import { Connection } from "@baton/core";
import { type BaaahtModule, baaahtModule, createOrcaModule, type OrcaModule, startServer } from "@baton/server";
import {
  AgentService,
  AgentType,
  CreateSessionRequestSchema,
  OrchestratorService,
  StreamAgentRequestSchema,
  StreamMessageRequestSchema,
} from "@baton/wire/baaaht";
import { Orchestrator, StartRunRequestSchema, StreamEventsRequestSchema } from "@baton/wire/orca";
import { create } from "@bufbuild/protobuf";
import { Code, createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { type BaaahtHarness, startBaaaht } from "./baaaht-support.js";
import { call, closeDialled, dial, frame, pollUntil, SCALE_TEST_TIMEOUT_MS, socketOf } from "./concurrency-support.js";
import { grpcHeaders, h2Call } from "./hardening-support.js";

let h: BaaahtHarness | undefined;
afterEach(async () => {
  closeDialled();
  await h?.close();
  h = undefined;
});

const STREAM_MESSAGES = `/${OrchestratorService.typeName}/StreamMessages`;
const STREAM_AGENT = `/${AgentService.typeName}/StreamAgent`;

/** Socket handles in this process (client and server sides both live here). */
const sockets = () => process.getActiveResourcesInfo().filter((r) => r.startsWith("TCP")).length;

describe("1,000 abrupt bidi disconnects", () => {
  it("leave no open request, connection, stream, follower or socket behind", {
    timeout: SCALE_TEST_TIMEOUT_MS,
  }, async () => {
    h = await startBaaaht();
    const harness = h;
    const state = harness.module.state;
    const address = harness.server.addresses[1] as string;
    // Set up over a connection of the test's own, closed before the baseline is taken, so
    // no client socket of the harness (whose ref state its pings change) is counted.
    const setup = new Connection({ address });
    const orchestrator = createClient(OrchestratorService, setup.transport);
    const sessionIds: string[] = [];
    for (let i = 0; i < 10; i++) sessionIds.push((await orchestrator.createSession({})).sessionId);
    const { agentId } = await createClient(AgentService, setup.transport).register({
      name: "w",
      type: AgentType.WORKER,
    });
    await setup.close();
    const messageFrame = (i: number) =>
      frame(StreamMessageRequestSchema, {
        sessionId: sessionIds[i % sessionIds.length] as string,
        payload: { case: "message", value: { content: `m${i}` } },
      });
    const agentFrame = () => frame(StreamAgentRequestSchema, { agentId, payload: { case: "heartbeat", value: {} } });

    const measure = () => {
      const stats = harness.server.stats();
      return { requests: stats.requests, connections: stats.connections, ...state.streams, sockets: sockets() };
    };
    const baseline = await pollUntil(measure, (m) => m.connections === 0);
    // Nothing open: only the TCP listener's handle (the Unix one is a pipe).
    expect(baseline).toEqual({ requests: 0, connections: 0, bidi: 0, followers: 0, sockets: 1 });
    const settled = () => pollUntil(measure, (m) => JSON.stringify(m) === JSON.stringify(baseline));
    /** Waits until the server serves `n` more bidi calls than at the baseline. */
    const serving = (n: number) =>
      pollUntil(
        () => state.streams.bidi,
        (b) => b >= n,
      );
    let disconnects = 0;

    // 1. 400 established StreamMessages calls over 4 connections, each reset with CANCEL.
    const a = await Promise.all(Array.from({ length: 4 }, () => dial(address)));
    const streamsA = Array.from({ length: 400 }, (_, i) =>
      call(a[i % 4] as ClientHttp2Session, STREAM_MESSAGES, messageFrame(i)),
    );
    expect(await serving(400)).toBe(400);
    expect(state.streams.followers).toBe(400);
    for (const s of streamsA) s.close(constants.NGHTTP2_CANCEL);
    disconnects += streamsA.length;
    for (const s of a) s.close();
    expect(await settled()).toEqual(baseline);

    // 2. 300 calls over 10 connections (StreamMessages and StreamAgent), then each
    //    connection dropped under them: half closed (FIN), half reset (TCP RST).
    const b = await Promise.all(Array.from({ length: 10 }, () => dial(address)));
    const streamsB = Array.from({ length: 300 }, (_, i) =>
      i % 3 === 0
        ? call(b[i % 10] as ClientHttp2Session, STREAM_AGENT, agentFrame())
        : call(b[i % 10] as ClientHttp2Session, STREAM_MESSAGES, messageFrame(i)),
    );
    expect(await serving(300)).toBe(300);
    b.forEach((s, i) => {
      if (i % 2 === 0) socketOf(s).destroy();
      else socketOf(s).resetAndDestroy();
    });
    disconnects += streamsB.length;
    expect(await settled()).toEqual(baseline);

    // 3. 100 calls whose first frame stops halfway (the length prefix promises more), reset.
    const c = await dial(address);
    const whole = messageFrame(0);
    const streamsC = Array.from({ length: 100 }, () => call(c, STREAM_MESSAGES, whole.subarray(0, 9)));
    expect(await serving(100)).toBe(100);
    for (const s of streamsC) s.close(constants.NGHTTP2_CANCEL);
    disconnects += streamsC.length;
    c.close();
    expect(await settled()).toEqual(baseline);

    // 4. 100 calls that sent headers and no frame at all, then the connection destroyed.
    const d = await dial(address);
    const streamsD = Array.from({ length: 100 }, () => call(d, STREAM_AGENT));
    expect(await serving(100)).toBe(100);
    socketOf(d).destroy();
    disconnects += streamsD.length;
    expect(await settled()).toEqual(baseline);

    // 5. 100 calls that got an answer, then wrote again and were reset with the write in flight.
    const e = await dial(address);
    const streamsE = Array.from({ length: 100 }, (_, i) => call(e, STREAM_MESSAGES, messageFrame(i)));
    await Promise.all(streamsE.map((s) => new Promise((resolve) => s.once("data", resolve))));
    for (const [i, s] of streamsE.entries()) {
      s.write(messageFrame(1000 + i));
      s.close(constants.NGHTTP2_CANCEL);
    }
    disconnects += streamsE.length;
    e.close();
    expect(await settled()).toEqual(baseline);
    expect(disconnects).toBe(1000);

    // The server still serves: a new stream gets its own message back.
    const after = new Connection({ address });
    const reqs = (async function* () {
      yield { sessionId: sessionIds[0] as string, payload: { case: "message" as const, value: { content: "after" } } };
      await new Promise(() => {});
    })();
    const ac = new AbortController();
    let echoed = false;
    for await (const r of createClient(OrchestratorService, after.transport).streamMessages(reqs, {
      signal: ac.signal,
    })) {
      echoed = r.payload.case === "message" && r.payload.value.content === "after";
      if (echoed) break;
    }
    ac.abort();
    await after.close();
    expect(echoed).toBe(true);
    expect(await settled()).toEqual(baseline);
  });
});

describe("a stream whose connection drops while its response is waiting to be read", () => {
  it("ends on the server: its handler's finally runs and the request log has its line", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = {
      debug() {},
      info(message: string, fields?: Record<string, unknown>) {
        if (message === "request") lines.push(fields ?? {});
      },
      warn() {},
      error() {},
    };
    const server = await startServer({
      listen: ["127.0.0.1:0"],
      modules: [baaahtModule()],
      logger,
      settings: { "baaaht.streamHeartbeatMs": "20" },
    });
    try {
      const module = server.modules.get("baaaht") as BaaahtModule;
      const sessionId = module.sessions.create(create(CreateSessionRequestSchema, {})).sessionId;
      const session = await dial(server.addresses[0] as string);
      // Each stream's first message comes back to all 50: their responses are mid-write,
      // the handlers suspended at a yield, when the connection goes.
      const streams = Array.from({ length: 50 }, (_, i) =>
        call(
          session,
          STREAM_MESSAGES,
          frame(StreamMessageRequestSchema, { sessionId, payload: { case: "message", value: { content: `m${i}` } } }),
        ),
      );
      await Promise.all(streams.map((s) => new Promise((resolve) => s.once("data", resolve))));
      expect(module.state.streams.bidi).toBe(50);
      socketOf(session).destroy();
      const after = await pollUntil(
        () => ({
          ...module.state.streams,
          logged: lines.filter((l) => l.method === "orchestrator.v1.OrchestratorService/StreamMessages").length,
        }),
        (s) => s.bidi === 0 && s.logged === 50,
      );
      expect(after).toEqual({ bidi: 0, followers: 0, logged: 50 });
      expect(new Set(lines.map((l) => l.code))).toEqual(new Set(["CANCELED"]));
    } finally {
      await server.close();
    }
  });
});

describe("a following stream whose deadline passes", () => {
  it("ends with DEADLINE_EXCEEDED in its trailers, not a clean end", async () => {
    const server = await startServer({ listen: ["127.0.0.1:0"], modules: [createOrcaModule] });
    try {
      const orca = server.modules.get("orca") as OrcaModule;
      await orca.service.startRun(create(StartRunRequestSchema, { workflowId: "w" }));
      const session = await dial(server.addresses[0] as string);
      // The server's own deadline (grpc-timeout), with the client not enforcing one: the
      // follower has nothing to send after start_run and ends when its signal aborts.
      const answer = await h2Call(
        session,
        { ...grpcHeaders(`/${Orchestrator.typeName}/StreamEvents`), "grpc-timeout": "200m" },
        frame(StreamEventsRequestSchema, { runId: "w" }),
      );
      expect(answer.grpcStatus).toBe(String(Code.DeadlineExceeded));
      expect(
        await pollUntil(
          () => orca.service.streams,
          (s) => s.open === 0,
        ),
      ).toEqual({ open: 0, waiting: 0 });
    } finally {
      await server.close();
    }
  });
});
