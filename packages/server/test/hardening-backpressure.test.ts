// Write backpressure (#13.8): a stream whose client stops reading is paused at the socket's
// high-water mark, then cut once it stays stalled past streamStallTimeoutMs, and what the
// server held for it is released (counted through server.stats(), not RSS).
import * as http2 from "node:http2";
import { setTimeout as sleep } from "node:timers/promises";
import { Connection } from "@baton/core";
import { type BatonServer, baaahtModule, startServer } from "@baton/server";
import { OrchestratorService, SubscribeEventsRequestSchema } from "@baton/wire/baaaht";
import { create, toBinary } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { grpcFrame } from "./hardening-support.js";

/** Every logged event, then the live ones. */
const fromTheStart = { filter: { startTime: { seconds: 1n, nanos: 0 } } };

let server: BatonServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Opens SubscribeEvents from the start of the log on a raw HTTP/2 session. */
function subscribe(session: http2.ClientHttp2Session): http2.ClientHttp2Stream {
  const stream = session.request({
    ":method": "POST",
    ":path": "/orchestrator.v1.OrchestratorService/SubscribeEvents",
    "content-type": "application/grpc",
    te: "trailers",
  });
  stream.on("error", () => {});
  stream.end(grpcFrame(toBinary(SubscribeEventsRequestSchema, create(SubscribeEventsRequestSchema, fromTheStart))));
  return stream;
}

/** Creates 100 sessions whose events carry 2 KB of labels each: about 200 KB of events. */
async function fillEventLog(orchestrator: Client<typeof OrchestratorService>): Promise<void> {
  const labels = { pad: "x".repeat(2000) };
  await Promise.all(Array.from({ length: 100 }, () => orchestrator.createSession({ metadata: { labels } })));
}

/** Polls `ready` (bounded), for outcomes that arrive on the server's own timers. */
async function eventually(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (ready()) return;
    await sleep(10);
  }
  throw new Error(`never happened: ${what}`);
}

describe("a stream whose client stops reading", () => {
  it("is cut with RST_STREAM ENHANCE_YOUR_CALM (RESOURCE_EXHAUSTED) and its buffer released", async () => {
    server = await startServer({
      listen: ["127.0.0.1:0"],
      modules: [baaahtModule()],
      streamStallTimeoutMs: 200,
    });
    const address = server.addresses[0] as string;
    const connection = new Connection({ address });
    const orchestrator = createClient(OrchestratorService, connection.transport);
    // An event log far larger than the client's window and the socket's high-water mark.
    await fillEventLog(orchestrator);

    const session = http2.connect(`http://${address}`, { settings: { initialWindowSize: 1024 } });
    session.on("error", () => {});
    const stream = subscribe(session);
    // Never read: no "data" listener, so the window never opens again.
    const closed = new Promise<number>((resolve) => stream.once("close", () => resolve(stream.rstCode ?? -1)));
    const stats = server;
    await eventually(() => stats.stats().bufferedBytes > 0, "the server buffers for the stalled stream");
    expect(await closed).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    // The server holds nothing for it any more; the session itself still works.
    await eventually(() => stats.stats().bufferedBytes === 0, "the buffer is released");
    await eventually(() => stats.stats().requests === 0, "the stream is gone");
    expect(session.destroyed).toBe(false);
    session.close();
    await connection.close();
  });

  it("a slow reader that keeps reading is not cut", async () => {
    server = await startServer({
      listen: ["127.0.0.1:0"],
      modules: [baaahtModule()],
      streamStallTimeoutMs: 1000,
    });
    const address = server.addresses[0] as string;
    const connection = new Connection({ address });
    const orchestrator = createClient(OrchestratorService, connection.transport);
    await fillEventLog(orchestrator);
    const session = http2.connect(`http://${address}`, { settings: { initialWindowSize: 1024 } });
    session.on("error", () => {});
    const stream = subscribe(session);
    // Reads a little, rests, reads again: slower than the server produces, never stopped
    // for as long as the stall timeout.
    let received = 0;
    // At about 1 KiB per 20 ms this takes longer than the stall timeout.
    const target = 48 * 1024;
    const done = new Promise<void>((resolve, reject) => {
      stream.on("data", (d: Buffer) => {
        received += d.length;
        if (received >= target) resolve();
        stream.pause();
        setTimeout(() => stream.resume(), 20);
      });
      stream.once("close", () => (received >= target ? resolve() : reject(new Error(`cut after ${received} bytes`))));
    });
    await done;
    expect(stream.closed).toBe(false);
    stream.close();
    session.close();
    await connection.close();
  });
});

describe("stream limits", () => {
  it("refuse invalid values", async () => {
    await expect(startServer({ listen: ["127.0.0.1:0"], maxStreamBufferBytes: 0 })).rejects.toThrow(
      /maxStreamBufferBytes/,
    );
    await expect(startServer({ listen: ["127.0.0.1:0"], streamStallTimeoutMs: -1 })).rejects.toThrow(
      /streamStallTimeoutMs/,
    );
  });
});
