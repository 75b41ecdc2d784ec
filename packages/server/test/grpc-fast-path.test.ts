// The gRPC fast path (HTTP/2, protobuf, no request compression, unary and server-streaming
// methods; gRPC-Web's side is grpc-web-fast-path.test.ts) against connect's router, over raw HTTP/2: the same answers (status, message,
// details, headers and trailers, messages), the edges it reads itself (a frame split
// across DATA frames, two messages in a unary request, an identity grpc-encoding), and the
// stats() counters that say which path served a call.
import { gzipSync } from "node:zlib";
import { type BatonServer, orcaModule, startServer } from "@baton/server";
import {
  StartRunRequestSchema,
  StartRunResponseSchema,
  StreamEventsRequestSchema,
  StreamEventsResponseSchema,
  SubmitTaskRequestSchema,
} from "@baton/wire/orca";
import { create, type DescMessage, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcFrame, grpcHeaders, type H2Answer, h2Call, withH2Session } from "./hardening-support.js";

const START = "/orca.v1.Orchestrator/StartRun";
const SUBMIT = "/orca.v1.Orchestrator/SubmitTask";
const EVENTS = "/orca.v1.Orchestrator/StreamEvents";

let server: BatonServer;
let address: string;
beforeAll(async () => {
  server = await startServer({ listen: ["127.0.0.1:0"], modules: [orcaModule()] });
  address = server.addresses[0] as string;
});
afterAll(() => server.close());

const bytes = <S extends DescMessage>(schema: S, init: MessageInitShape<S>) =>
  Buffer.from(toBinary(schema, create(schema, init)));

/**
 * The two ways in: the fast path (no grpc-encoding), and connect's (the same message
 * gzip-compressed). Both accept gzip answers, so both answer `grpc-encoding: gzip` (connect
 * answers a compressed request in its compression).
 */
const paths = {
  fast: (message: Buffer) => ({ headers: { "grpc-accept-encoding": "gzip" }, body: grpcFrame(message) }),
  connect: (message: Buffer) => ({ headers: { "grpc-encoding": "gzip" }, body: grpcFrame(gzipSync(message), 1) }),
};

async function call(path: string, message: Buffer, via: keyof typeof paths, extra: Record<string, string> = {}) {
  const before = server.stats().rpcPaths;
  const { headers, body } = paths[via](message);
  const answer = await withH2Session(address, (s) => h2Call(s, { ...grpcHeaders(path), ...headers, ...extra }, body));
  const after = server.stats().rpcPaths;
  // Each call is counted on the path it took.
  expect(after[via] - before[via], `${path} via ${via}`).toBe(1);
  return answer;
}

/** What must be the same on both paths: status, headers and trailers (less the date and the request id). */
function comparable(a: H2Answer) {
  const { date: _d, "x-request-id": _id, ...headers } = a.headers;
  return { status: a.status, grpcStatus: a.grpcStatus, grpcMessage: a.grpcMessage, headers, rstCode: a.rstCode };
}

/** The messages of a gRPC response body. */
function messages(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at + 5 <= body.length; ) {
    const n = body.readUInt32BE(at + 1);
    out.push(body.subarray(at + 5, at + 5 + n));
    at += 5 + n;
  }
  return out;
}

describe("gRPC fast path", () => {
  it("answers a unary call as connect does, and says which path served it", async () => {
    const req = bytes(StartRunRequestSchema, { workflowId: "fast-1" });
    const fast = await call(START, req, "fast", { "x-request-id": "rid-1" });
    const slow = await call(START, req, "connect", { "x-request-id": "rid-1" });
    expect(fast.grpcStatus).toBe("0");
    expect(comparable(fast)).toEqual(comparable(slow));
    // The request log's id is echoed on the fast path's headers too.
    expect(fast.headers["x-request-id"]).toBe("rid-1");
    expect(fromBinary(StartRunResponseSchema, messages(fast.body)[0] as Buffer).runId).toBe("fast-1");
    expect(fast.body).toEqual(slow.body);
  });

  it("sends the same grpc-status, grpc-message and grpc-status-details-bin as connect", async () => {
    const req = bytes(SubmitTaskRequestSchema, {
      runId: "no such run",
      task: { id: "t", kind: "task", agent: "a", protocolVersion: 1, payloadJson: "{}" },
    });
    const fast = await call(SUBMIT, req, "fast");
    const slow = await call(SUBMIT, req, "connect");
    expect(fast.grpcStatus).toBe(String(Code.NotFound));
    expect(decodeURIComponent(fast.grpcMessage ?? "")).toBe("run no such run not found");
    expect(comparable(fast)).toEqual(comparable(slow));
    // Trailers of a stream end ride after the headers: read the trailer block itself.
    expect(fast.trailers["grpc-status-details-bin"]).toBeTruthy();
    expect(fast.trailers).toEqual(slow.trailers);
  });

  it("streams the same messages and trailers as connect", async () => {
    await call(START, bytes(StartRunRequestSchema, { workflowId: "fast-stream" }), "fast");
    const req = bytes(StreamEventsRequestSchema, { runId: "fast-stream" });
    const follow = { "orca-follow": "false" };
    const fast = await call(EVENTS, req, "fast", follow);
    const slow = await call(EVENTS, req, "connect", follow);
    expect(fast.grpcStatus).toBe("0");
    expect(comparable(fast)).toEqual(comparable(slow));
    expect(fast.trailers).toEqual(slow.trailers);
    const events = messages(fast.body).map((m) => fromBinary(StreamEventsResponseSchema, m).event?.kind);
    expect(events).toEqual(["start_run"]);
    expect(fast.body).toEqual(slow.body);
  });

  it("reads a request whose envelope is split across DATA frames", async () => {
    const message = bytes(StartRunRequestSchema, { workflowId: `split-${"x".repeat(40_000)}` });
    const frame = grpcFrame(message);
    const answer = await withH2Session(address, async (s) => {
      const before = server.stats().rpcPaths.fast;
      const stream = s.request({ ":method": "POST", te: "trailers", ...grpcHeaders(START) });
      const done = new Promise<{ status: string | undefined; body: Buffer }>((resolve) => {
        const chunks: Buffer[] = [];
        let status: string | undefined;
        stream.on("data", (d: Buffer) => chunks.push(d));
        stream.on("trailers", (t) => {
          status = t["grpc-status"] as string;
        });
        stream.on("close", () => resolve({ status, body: Buffer.concat(chunks) }));
      });
      // The prefix in two pieces, then the message in pieces (each its own DATA frame).
      const cuts = [2, 5, 100, 20_000, frame.length];
      let from = 0;
      for (const to of cuts) {
        await new Promise<void>((resolve) => stream.write(frame.subarray(from, to), () => resolve()));
        from = to;
      }
      stream.end();
      const r = await done;
      expect(server.stats().rpcPaths.fast - before).toBe(1);
      return r;
    });
    expect(answer.status).toBe("0");
    expect(fromBinary(StartRunResponseSchema, messages(answer.body)[0] as Buffer).runId).toMatch(/^split-x/);
  });

  it("refuses two messages in a unary request as connect does (UNIMPLEMENTED)", async () => {
    const one = bytes(StartRunRequestSchema, { workflowId: "two" });
    const two = Buffer.concat([grpcFrame(one), grpcFrame(one)]);
    const fast = await withH2Session(address, (s) => h2Call(s, grpcHeaders(START), two));
    const gz = grpcFrame(gzipSync(one), 1);
    const slow = await withH2Session(address, (s) =>
      h2Call(s, { ...grpcHeaders(START), "grpc-encoding": "gzip" }, Buffer.concat([gz, gz])),
    );
    expect(fast.grpcStatus).toBe(String(Code.Unimplemented));
    expect(decodeURIComponent(fast.grpcMessage ?? "")).toBe(decodeURIComponent(slow.grpcMessage ?? ""));
    expect(slow.grpcStatus).toBe(String(Code.Unimplemented));
  });

  it("takes an identity grpc-encoding and application/grpc+proto; JSON and gzip go through connect", async () => {
    const req = bytes(StartRunRequestSchema, { workflowId: "identity" });
    const before = server.stats().rpcPaths;
    const identity = await withH2Session(address, (s) =>
      h2Call(s, { ...grpcHeaders(START, "application/grpc+proto"), "grpc-encoding": "identity" }, grpcFrame(req)),
    );
    expect(identity.grpcStatus).toBe("0");
    expect(server.stats().rpcPaths.fast - before.fast).toBe(1);
    const json = await withH2Session(address, (s) =>
      h2Call(s, grpcHeaders(START, "application/grpc+json"), grpcFrame(Buffer.from('{"workflowId":"json"}'))),
    );
    expect(json.grpcStatus).toBe("0");
    const gzip = await call(START, req, "connect");
    expect(gzip.grpcStatus).toBe("0");
    expect(server.stats().rpcPaths.connect - before.connect).toBe(2);
  });

  it("compresses a large response for a client that accepts gzip, as connect does", async () => {
    const id = `big-${"y".repeat(4000)}`;
    await call(START, bytes(StartRunRequestSchema, { workflowId: id }), "fast");
    const req = bytes(StreamEventsRequestSchema, { runId: id });
    const accept = { "orca-follow": "false", "grpc-accept-encoding": "gzip" };
    const fast = await call(EVENTS, req, "fast", accept);
    const slow = await call(EVENTS, req, "connect", accept);
    expect(fast.headers["grpc-encoding"]).toBe("gzip");
    expect(comparable(fast)).toEqual(comparable(slow));
    // Flag 1: compressed.
    expect(fast.body[0]).toBe(1);
    expect(fast.body[0]).toBe(slow.body[0]);
  });
});
