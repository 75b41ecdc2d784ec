// The bare stream source: node:http2 answering orca.v1.Orchestrator/StreamEvents with
// `max_events` events encoded once, written in 64 KiB chunks as fast as the socket takes
// them (flow control respected), then the OK trailers. It spends next to nothing per
// event, so a client reading from it is the bottleneck: this is where the clients' own
// cost per message shows (a real server is slower than both). Any other method is
// UNIMPLEMENTED.

import { once } from "node:events";
import * as http2 from "node:http2";
import { EnvelopeSchema, StreamEventsRequestSchema, StreamEventsResponseSchema } from "@baton/wire/orca";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { serveParent } from "../lib/procs.mjs";

const CHUNK = 64 * 1024;
/** The most events one stream sends (the bench asks for far fewer). */
const MAX_EVENTS = 2_000_000;
const now = BigInt(Date.now());

/** One gRPC frame: the 5-byte prefix and the message. */
function frame(bytes) {
  const out = Buffer.allocUnsafe(5 + bytes.length);
  out[0] = 0;
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
}

/** Event `id` as baton-server's replay of a submitted task sends it. */
const eventFrame = (runId, id) =>
  frame(
    toBinary(
      StreamEventsResponseSchema,
      create(StreamEventsResponseSchema, {
        event: create(EnvelopeSchema, {
          id: String(id),
          agent: "orchestrator",
          kind: "task_enqueued",
          payloadJson: `{"task_id":"s-${id}","kind":"agent_task","payload":{}}`,
          protocolVersion: 1,
          tsMs: now,
          traceId: runId,
        }),
      }),
    ),
  );

/** The chunks of events `from`..`from + count - 1`, kept for the last (run, from, count) asked for. */
const made = new Map();
function chunksOf(runId, from, count) {
  const key = `${runId}/${from}/${count}`;
  let chunks = made.get(key);
  if (chunks) return chunks;
  chunks = [];
  let parts = [];
  let size = 0;
  for (let id = from; id < from + count; id++) {
    const f = eventFrame(runId, id);
    parts.push(f);
    size += f.length;
    if (size >= CHUNK) {
      chunks.push(Buffer.concat(parts, size));
      parts = [];
      size = 0;
    }
  }
  if (size > 0) chunks.push(Buffer.concat(parts, size));
  made.clear();
  made.set(key, chunks);
  return chunks;
}

const server = http2.createServer();
const sessions = new Set();
server.on("session", (session) => {
  sessions.add(session);
  session.once("close", () => sessions.delete(session));
});
server.on("stream", (stream, headers) => {
  stream.on("error", () => {});
  const body = [];
  stream.on("data", (c) => body.push(c));
  stream.on("end", async () => {
    if (headers[":path"] !== "/orca.v1.Orchestrator/StreamEvents") {
      stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "12" }, { endStream: true });
      return;
    }
    const bytes = Buffer.concat(body);
    const req = fromBinary(StreamEventsRequestSchema, bytes.subarray(5));
    const count = Math.min(req.maxEvents > 0 ? req.maxEvents : MAX_EVENTS, MAX_EVENTS);
    const from = Math.max(1, Number(req.startEventId));
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    for (const chunk of chunksOf(req.runId, from, count)) {
      if (stream.destroyed) return;
      if (!stream.write(chunk)) await Promise.race([once(stream, "drain"), once(stream, "close")]);
    }
    if (!stream.destroyed) stream.end();
  });
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address();
serveParent(
  { address: `127.0.0.1:${port}` },
  {
    onClose: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) session.destroy();
      }),
  },
);
