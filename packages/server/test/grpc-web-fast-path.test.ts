// gRPC-Web on the fast path, over HTTP/1.1 (raw keep-alive socket) and HTTP/2 (raw
// session), against connect's router: the same status, headers, messages and trailer
// envelope for a unary call, an error with details, a stream and a compressed answer;
// the refusals it reads itself; and which content types stay on connect's path.
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
import { grpcFrame, grpcHeaders, h2Call, RawConnection, withH2Session } from "./hardening-support.js";

const START = "/orca.v1.Orchestrator/StartRun";
const SUBMIT = "/orca.v1.Orchestrator/SubmitTask";
const EVENTS = "/orca.v1.Orchestrator/StreamEvents";
const WEB = "application/grpc-web+proto";

let server: BatonServer;
let address: string;
beforeAll(async () => {
  server = await startServer({ listen: ["127.0.0.1:0"], modules: [orcaModule()] });
  address = server.addresses[0] as string;
});
afterAll(() => server.close());

const bytes = <S extends DescMessage>(schema: S, init: MessageInitShape<S>) =>
  Buffer.from(toBinary(schema, create(schema, init)));

/** One gRPC-Web answer: HTTP status, headers (less those that differ per call or per framing), body. */
interface WebAnswer {
  status: number | undefined;
  headers: Record<string, unknown>;
  body: Buffer;
}

type Http = "h1" | "h2";

/** One gRPC-Web POST over HTTP/1.1 (a new keep-alive connection) or HTTP/2. */
async function post(http: Http, path: string, headers: Record<string, string>, body: Buffer): Promise<WebAnswer> {
  if (http === "h2") {
    const a = await withH2Session(address, (s) => h2Call(s, { ...grpcHeaders(path, WEB), ...headers }, body));
    expect(a.trailers, "gRPC-Web sends no HTTP trailers").toEqual({});
    return { status: a.status, headers: a.headers, body: a.body };
  }
  const conn = new RawConnection(address);
  try {
    const lines = Object.entries({ "content-type": WEB, ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
    conn.write(`POST ${path} HTTP/1.1\r\nhost: x\r\ncontent-length: ${body.length}\r\n${lines.join("")}\r\n`);
    conn.write(body);
    return await conn.response();
  } finally {
    conn.close();
  }
}

/**
 * The two ways in: the fast path (no grpc-encoding), and connect's (the same message
 * gzip-compressed). Both accept gzip answers, so both answer `grpc-encoding: gzip`.
 */
const paths = {
  fast: (message: Buffer) => ({ headers: { "grpc-accept-encoding": "gzip" }, body: grpcFrame(message) }),
  connect: (message: Buffer) => ({ headers: { "grpc-encoding": "gzip" }, body: grpcFrame(gzipSync(message), 1) }),
};

async function call(
  http: Http,
  path: string,
  message: Buffer,
  via: keyof typeof paths,
  extra: Record<string, string> = {},
): Promise<WebAnswer> {
  const before = server.stats().rpcPaths;
  const { headers, body } = paths[via](message);
  const answer = await post(http, path, { ...headers, ...extra }, body);
  const after = server.stats().rpcPaths;
  expect(after[via] - before[via], `${path} via ${via} over ${http}`).toBe(1);
  return answer;
}

/** What must be the same on both paths: status and headers, less the date, the request id and the body's framing. */
function comparable(a: WebAnswer) {
  const {
    date: _d,
    "x-request-id": _id,
    "content-length": _l,
    "transfer-encoding": _t,
    connection: _c,
    "keep-alive": _k,
    ...headers
  } = a.headers;
  return { status: a.status, headers };
}

/** The envelopes of a gRPC-Web body: messages, then the trailer envelope (flag 0x80, maybe compressed). */
function envelopes(body: Buffer): { flags: number; data: Buffer }[] {
  const out: { flags: number; data: Buffer }[] = [];
  for (let at = 0; at + 5 <= body.length; ) {
    const n = body.readUInt32BE(at + 1);
    out.push({ flags: body[at] as number, data: body.subarray(at + 5, at + 5 + n) });
    at += 5 + n;
  }
  return out;
}

/** The trailer envelope's fields: the body's last envelope, which must be flagged 0x80. */
function trailers(body: Buffer): Record<string, string> {
  const last = envelopes(body).at(-1);
  expect(last?.flags, "the last envelope is the trailers").toBe(0x80);
  const out: Record<string, string> = {};
  for (const line of (last?.data ?? Buffer.alloc(0)).toString("utf8").split("\r\n")) {
    const c = line.indexOf(":");
    if (c > 0) out[line.slice(0, c)] = line.slice(c + 1).trim();
  }
  return out;
}

describe.each<Http>(["h1", "h2"])("gRPC-Web fast path over %s", (http) => {
  it("answers a unary call as connect does: one message, then the trailer envelope", async () => {
    const req = bytes(StartRunRequestSchema, { workflowId: `web-${http}` });
    const fast = await call(http, START, req, "fast", { "x-request-id": "rid-w" });
    const slow = await call(http, START, req, "connect", { "x-request-id": "rid-w" });
    expect(comparable(fast)).toEqual(comparable(slow));
    expect(fast.headers["content-type"]).toBe(WEB);
    expect(fast.headers["x-request-id"]).toBe("rid-w");
    // The whole answer's length is known, so it is sent with it.
    expect(Number(fast.headers["content-length"])).toBe(fast.body.length);
    const [message, trailer, ...rest] = envelopes(fast.body);
    expect(rest).toEqual([]);
    expect(message?.flags).toBe(0);
    expect(fromBinary(StartRunResponseSchema, message?.data as Buffer).runId).toBe(`web-${http}`);
    expect(trailer?.flags).toBe(0x80);
    expect(trailers(fast.body)).toEqual({ "grpc-status": "0" });
    expect(fast.body).toEqual(slow.body);
  });

  it("says an error in the trailer envelope, with the same message and details as connect", async () => {
    const req = bytes(SubmitTaskRequestSchema, {
      runId: "no such run",
      task: { id: "t", kind: "task", agent: "a", protocolVersion: 1, payloadJson: "{}" },
    });
    const fast = await call(http, SUBMIT, req, "fast");
    const slow = await call(http, SUBMIT, req, "connect");
    expect(fast.status).toBe(200);
    expect(comparable(fast)).toEqual(comparable(slow));
    const t = trailers(fast.body);
    expect(t["grpc-status"]).toBe(String(Code.NotFound));
    expect(decodeURIComponent(t["grpc-message"] ?? "")).toBe("run no such run not found");
    expect(t["grpc-status-details-bin"]).toBeTruthy();
    expect(t).toEqual(trailers(slow.body));
    // No message before the trailers.
    expect(envelopes(fast.body)).toHaveLength(1);
  });

  it("streams the same messages and trailer envelope as connect", async () => {
    const id = `web-stream-${http}`;
    await call(http, START, bytes(StartRunRequestSchema, { workflowId: id }), "fast");
    const req = bytes(StreamEventsRequestSchema, { runId: id });
    const follow = { "orca-follow": "false" };
    const fast = await call(http, EVENTS, req, "fast", follow);
    const slow = await call(http, EVENTS, req, "connect", follow);
    expect(comparable(fast)).toEqual(comparable(slow));
    const all = envelopes(fast.body);
    const events = all.slice(0, -1).map((e) => fromBinary(StreamEventsResponseSchema, e.data).event?.kind);
    expect(events).toEqual(["start_run"]);
    expect(trailers(fast.body)).toEqual({ "grpc-status": "0" });
    expect(fast.body).toEqual(slow.body);
  });

  it("compresses a large response message for a client that accepts gzip, as connect does", async () => {
    const id = `web-big-${http}-${"y".repeat(4000)}`;
    await call(http, START, bytes(StartRunRequestSchema, { workflowId: id }), "fast");
    const req = bytes(StreamEventsRequestSchema, { runId: id });
    const accept = { "orca-follow": "false", "grpc-accept-encoding": "gzip" };
    const fast = await call(http, EVENTS, req, "fast", accept);
    const slow = await call(http, EVENTS, req, "connect", accept);
    expect(fast.headers["grpc-encoding"]).toBe("gzip");
    expect(comparable(fast)).toEqual(comparable(slow));
    // The event is compressed (flag 1); the small trailer block is not.
    expect(envelopes(fast.body).map((e) => e.flags)).toEqual([1, 0x80]);
    expect(envelopes(slow.body).map((e) => e.flags)).toEqual([1, 0x80]);
  });

  it("refuses two messages in a unary request as connect does (UNIMPLEMENTED)", async () => {
    const one = bytes(StartRunRequestSchema, { workflowId: "two" });
    const fast = await post(http, START, {}, Buffer.concat([grpcFrame(one), grpcFrame(one)]));
    const gz = grpcFrame(gzipSync(one), 1);
    const slow = await post(http, START, { "grpc-encoding": "gzip" }, Buffer.concat([gz, gz]));
    expect(trailers(fast.body)["grpc-status"]).toBe(String(Code.Unimplemented));
    expect(trailers(fast.body)["grpc-message"]).toBe(trailers(slow.body)["grpc-message"]);
  });

  it("refuses a bad grpc-timeout, a truncated body and an empty one in the trailer envelope", async () => {
    const req = grpcFrame(bytes(StartRunRequestSchema, { workflowId: "bad" }));
    const timeout = await post(http, START, { "grpc-timeout": "soon" }, req);
    expect(trailers(timeout.body)["grpc-status"]).toBe(String(Code.InvalidArgument));
    const truncated = await post(http, START, {}, req.subarray(0, req.length - 1));
    expect(trailers(truncated.body)["grpc-status"]).toBe(String(Code.InvalidArgument));
    const empty = await post(http, START, {}, Buffer.alloc(0));
    expect(trailers(empty.body)["grpc-status"]).toBe(String(Code.Unimplemented));
  });
});

describe("gRPC-Web fast path: what it leaves to connect", () => {
  it("serves application/grpc-web (protobuf) and a grpc-encoding of identity, but not -text or +json", async () => {
    const req = grpcFrame(bytes(StartRunRequestSchema, { workflowId: "kinds" }));
    const before = server.stats().rpcPaths;
    const bare = await post("h1", START, { "content-type": "application/grpc-web" }, req);
    const identity = await post("h2", START, { "grpc-encoding": "identity" }, req);
    expect(trailers(bare.body)["grpc-status"]).toBe("0");
    expect(trailers(identity.body)["grpc-status"]).toBe("0");
    const middle = server.stats().rpcPaths;
    expect(middle.fast - before.fast).toBe(2);
    const text = await post("h1", START, { "content-type": "application/grpc-web-text" }, req);
    expect(text.status).toBe(415);
    expect(server.stats().rpcPaths.connect - middle.connect).toBe(1);
  });

  it("leaves gRPC (not gRPC-Web) over HTTP/1.1 to connect", async () => {
    const conn = new RawConnection(address);
    try {
      const before = server.stats().rpcPaths;
      const req = grpcFrame(bytes(StartRunRequestSchema, { workflowId: "h1-grpc" }));
      conn.write(
        `POST ${START} HTTP/1.1\r\nhost: x\r\ncontent-type: application/grpc\r\ncontent-length: ${req.length}\r\n\r\n`,
      );
      conn.write(req);
      await conn.response();
      const after = server.stats().rpcPaths;
      expect(after.fast).toBe(before.fast);
      expect(after.connect - before.connect).toBe(1);
    } finally {
      conn.close();
    }
  });
});
