// The lean gRPC transport on the wire: a raw node:http2 server answers exactly what each
// test needs (trailers, trailers-only, HTTP errors, compressed or oversized messages,
// GOAWAY), and sees what the client sends (grpc-timeout, te, RST_STREAM codes).
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { ErrorInfoSchema } from "@baton/wire/google-rpc";
import {
  Orchestrator,
  StreamEventsRequestSchema,
  type StreamEventsResponse,
  StreamEventsResponseSchema,
  SubmitTaskRequestSchema,
  SubmitTaskResponseSchema,
} from "@baton/wire/orca";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  Connection,
  type ConnectionOptions,
  createRawClient,
  DeadlineExceededError,
  takeFrom,
  toBatonError,
} from "../src/index.js";
import { scratch, submitWithMetadata } from "./http1-server.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Handler = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  body: Buffer,
  rawHeaders: string[],
) => void;

/** Where a {@link rawServer} listens: TCP (default), TLS over TCP, or a Unix socket. */
type Listen = { tls?: { key: Buffer; cert: Buffer }; socketPath?: string };

/** A raw HTTP/2 server: `handler` gets each stream once its request body has arrived (or at once with `eager`). */
async function rawServer(
  handler: Handler,
  eager = false,
  listen: Listen = {},
): Promise<{ address: string; server: http2.Http2Server | http2.Http2SecureServer }> {
  const server = listen.tls ? http2.createSecureServer(listen.tls) : http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  server.on(
    "stream",
    (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
      stream.on("error", () => {});
      if (eager) return handler(stream, headers, Buffer.alloc(0), rawHeaders);
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => handler(stream, headers, Buffer.concat(chunks), rawHeaders));
    },
  );
  await new Promise<void>((resolve) =>
    listen.socketPath ? server.listen(listen.socketPath, resolve) : server.listen(0, "127.0.0.1", resolve),
  );
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  );
  const address = listen.socketPath
    ? `unix://${listen.socketPath}`
    : `${listen.tls ? "https://" : ""}127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { address, server };
}

function envelope(bytes: Uint8Array, flags = 0): Buffer {
  const out = Buffer.alloc(5 + bytes.length);
  out[0] = flags;
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
}

const accepted = () =>
  envelope(toBinary(SubmitTaskResponseSchema, create(SubmitTaskResponseSchema, { accepted: true })));

function client(address: string, options: Partial<ConnectionOptions> = {}) {
  const conn = new Connection({ address, grpcTransport: "lean", retry: false, ...options });
  cleanups.push(() => conn.close());
  // Baton's clients are built with createRawClient: every test here drives it.
  return { conn, orca: createRawClient(Orchestrator, conn.transport) };
}

const submit = { runId: "r", task: { id: "t", protocolVersion: 1 } };

async function failure(p: Promise<unknown>): Promise<ConnectError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  return err as ConnectError;
}

describe("lean gRPC transport: requests", () => {
  it("sends one enveloped message with te: trailers, the binary content type, grpc-timeout and no compression", async () => {
    let seen: { headers: http2.IncomingHttpHeaders; body: Buffer } | undefined;
    const { address } = await rawServer((stream, headers, body) => {
      seen = { headers, body };
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(accepted());
    });
    const { orca } = client(address);
    const res = await orca.submitTask(submit, { timeoutMs: 5000, headers: { "x-extra": "1" } });
    expect(res.accepted).toBe(true);
    expect(seen?.headers[":path"]).toBe("/orca.v1.Orchestrator/SubmitTask");
    expect(seen?.headers.te).toBe("trailers");
    expect(seen?.headers["content-type"]).toBe("application/grpc+proto");
    expect(seen?.headers["grpc-timeout"]).toMatch(/^\d+m$/);
    expect(seen?.headers["grpc-accept-encoding"]).toBeUndefined();
    expect(seen?.headers["x-extra"]).toBe("1");
    const body = seen?.body ?? Buffer.alloc(0);
    expect(body[0]).toBe(0);
    expect(body.readUInt32BE(1)).toBe(body.length - 5);
    expect(fromBinary(SubmitTaskRequestSchema, body.subarray(5)).task?.id).toBe("t");
  });

  it("sends the same header fields in the same order whether or not an interceptor reads the request's header", async () => {
    const sent: string[][] = [];
    const { address } = await rawServer((stream, _headers, _body, rawHeaders) => {
      sent.push(rawHeaders.filter((_, i) => i % 2 === 0 && !rawHeaders[i]?.startsWith(":")));
      sent[sent.length - 1]?.push(...rawHeaders.filter((_, i) => i % 2 === 1 && rawHeaders[i - 1] === "grpc-timeout"));
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(accepted());
    });
    let read = false;
    const reader: Interceptor = (next) => (req) => {
      if (read) expect(req.header.get("te")).toBe("trailers");
      return next(req);
    };
    const { orca } = client(address, { interceptors: [reader] });
    await orca.submitTask(submit);
    await orca.submitTask(submit, { timeoutMs: 5000 });
    read = true;
    await orca.submitTask(submit);
    await orca.submitTask(submit, { timeoutMs: 5000 });
    expect(sent[0]).toEqual(["content-type", "te", "user-agent"]);
    expect(sent[1]?.slice(0, 4)).toEqual(["content-type", "grpc-timeout", "te", "user-agent"]);
    expect(sent[1]?.[4]).toMatch(/^\d+m$/);
    expect(sent[2]).toEqual(sent[0]);
    expect(sent[3]?.slice(0, 4)).toEqual(sent[1]?.slice(0, 4));
  });

  it("sends what interceptors set on, assign to, or spread with the request's header", async () => {
    const seen: http2.IncomingHttpHeaders[] = [];
    const { address } = await rawServer((stream, headers) => {
      seen.push(headers);
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(accepted());
    });
    let mode: "set" | "assign" | "spread" | "spread-replace" = "set";
    const edit: Interceptor = (next) => (req) => {
      if (mode === "set") {
        req.header.set("x-mode", "set");
        return next(req);
      }
      if (mode === "assign") {
        const h = new Headers(req.header);
        h.set("x-mode", "assign");
        // Typed readonly, but JavaScript interceptors may still assign it.
        (req as { header: Headers }).header = h;
        return next(req);
      }
      if (mode === "spread") return next({ ...req });
      const h = new Headers(req.header);
      h.set("x-mode", "spread-replace");
      return next({ ...req, header: h });
    };
    const { orca } = client(address, { interceptors: [edit] });
    for (const m of ["set", "assign", "spread", "spread-replace"] as const) {
      mode = m;
      expect((await orca.submitTask(submit, { timeoutMs: 5000 })).accepted).toBe(true);
    }
    expect(seen.map((h) => h["x-mode"])).toEqual(["set", "assign", undefined, "spread-replace"]);
    for (const h of seen) {
      expect(h.te).toBe("trailers");
      expect(h["content-type"]).toBe("application/grpc+proto");
      expect(h["grpc-timeout"]).toMatch(/^\d+m$/);
    }
  });

  it("refuses a request over maxSendMessageBytes with RESOURCE_EXHAUSTED before sending anything", async () => {
    let streams = 0;
    const { address } = await rawServer(() => streams++);
    const { orca } = client(address, { maxSendMessageBytes: 64 });
    const err = await failure(orca.submitTask({ runId: "r", task: { id: "x".repeat(100) } }));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/larger than configured writeMaxBytes 64/);
    expect(streams).toBe(0);
  });
});

describe("lean gRPC transport: responses", () => {
  it("reads an error status, percent-decoded message and details from the trailers", async () => {
    // The trailers a connect-es server would send for this error, details included.
    const status: Record<string, string> = {};
    setTrailerStatus(
      new Headers(),
      new ConnectError("no such run", Code.NotFound, undefined, [
        { desc: ErrorInfoSchema, value: { reason: "RUN_NOT_FOUND", domain: "orca.v1" } },
      ]),
    ).forEach((value, key) => {
      status[key] = value;
    });
    const { address } = await rawServer((stream) => {
      stream.respond(
        { ":status": 200, "content-type": "application/grpc", "x-header": "h" },
        { waitForTrailers: true },
      );
      stream.on("wantTrailers", () =>
        stream.sendTrailers({
          ...status,
          "grpc-message": encodeURIComponent("no such run: ünïcode"),
          "x-trailer": "t",
        }),
      );
      stream.end();
    });
    const { orca } = client(address);
    const err = await failure(orca.submitTask(submit));
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toBe("no such run");
    expect(err.metadata.get("x-trailer")).toBe("t");
    expect(err.metadata.get("x-header")).toBe("h");
    expect(toBatonError(err).errorInfo?.reason).toBe("RUN_NOT_FOUND");
  });

  it("reads a trailers-only response (the status in the headers)", async () => {
    const { address } = await rawServer((stream) => {
      stream.respond(
        {
          ":status": 200,
          "content-type": "application/grpc",
          "grpc-status": String(Code.PermissionDenied),
          "grpc-message": "nope",
        },
        { endStream: true },
      );
    });
    const { orca } = client(address);
    const err = await failure(orca.submitTask(submit));
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.rawMessage).toBe("nope");
  });

  it("returns response headers and trailers with the message", async () => {
    const { address } = await rawServer((stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc", "x-h": "1" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "x-t": "2" }));
      stream.end(accepted());
    });
    const { orca } = client(address);
    const { header, trailer } = await submitWithMetadata(orca);
    expect(header?.get("x-h")).toBe("1");
    expect(trailer?.get("x-t")).toBe("2");
  });

  it("gives interceptors the response's header and trailer to read, replace or spread", async () => {
    const { address } = await rawServer((stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc", "x-h": "1" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0", "x-t": "2" }));
      stream.end(accepted());
    });
    const read: string[] = [];
    const inner: Interceptor = (next) => async (req) => {
      const res = await next(req);
      if (res.stream) return res;
      read.push(`${res.header.get("x-h")}/${res.trailer.get("x-t")}/${res.trailer.get("grpc-status")}`);
      const header = new Headers(res.header);
      header.set("x-h", "replaced");
      (res as { header: Headers }).header = header;
      return res;
    };
    const outer: Interceptor = (next) => async (req) => {
      const res = await next(req);
      return { ...res };
    };
    const { orca } = client(address, { interceptors: [outer, inner] });
    const { res, header, trailer } = await submitWithMetadata(orca);
    expect(res.accepted).toBe(true);
    expect(read).toEqual(["1/2/0"]);
    expect(header?.get("x-h")).toBe("replaced");
    expect(trailer?.get("x-t")).toBe("2");
  });

  it("maps a non-200 HTTP status as gRPC does (503: UNAVAILABLE) and a wrong content type to UNKNOWN", async () => {
    let answer = 503;
    const { address } = await rawServer((stream) => {
      if (answer === 503) stream.respond({ ":status": 503 }, { endStream: true });
      else stream.respond({ ":status": 200, "content-type": "text/html" }, { endStream: true });
    });
    const { orca } = client(address);
    expect((await failure(orca.submitTask(submit))).code).toBe(Code.Unavailable);
    answer = 200;
    const err = await failure(orca.submitTask(submit));
    expect(err.code).toBe(Code.Unknown);
    expect(err.rawMessage).toMatch(/unsupported content type/);
  });

  it("refuses compressed responses: a grpc-encoding it did not ask for, or a compressed flag without one", async () => {
    let mode: "gzip" | "flag" = "gzip";
    const { address } = await rawServer((stream) => {
      const headers: http2.OutgoingHttpHeaders = { ":status": 200, "content-type": "application/grpc" };
      if (mode === "gzip") headers["grpc-encoding"] = "gzip";
      stream.respond(headers, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(envelope(new Uint8Array([8, 1]), 1));
    });
    const { orca } = client(address);
    const gz = await failure(orca.submitTask(submit));
    expect(gz.code).toBe(Code.Internal);
    expect(gz.rawMessage).toMatch(/unsupported response encoding "gzip"/);
    mode = "flag";
    const flagged = await failure(orca.submitTask(submit));
    expect(flagged.code).toBe(Code.Internal);
    expect(flagged.rawMessage).toMatch(/compressed/);
  });

  it("refuses a response over maxReceiveMessageBytes with RESOURCE_EXHAUSTED and resets the stream", async () => {
    let rst: number | undefined;
    const { address } = await rawServer((stream) => {
      stream.on("close", () => {
        rst = stream.rstCode;
      });
      stream.respond({ ":status": 200, "content-type": "application/grpc" });
      // Announce a 1 MiB message, send its start and keep the stream open.
      const head = Buffer.alloc(5 + 1024);
      head.writeUInt32BE(1024 * 1024, 1);
      stream.write(head);
    });
    const { orca } = client(address, { maxReceiveMessageBytes: 1000 });
    const err = await failure(orca.submitTask(submit));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/larger than configured readMaxBytes 1000/);
    await expect.poll(() => rst).toBeDefined();
  });

  it("refuses extra and missing unary messages", async () => {
    let count = 2;
    const { address } = await rawServer((stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(Buffer.concat(Array.from({ length: count }, accepted)));
    });
    const { orca } = client(address);
    expect((await failure(orca.submitTask(submit))).code).toBe(Code.Unimplemented);
    count = 0;
    const missing = await failure(orca.submitTask(submit));
    expect(missing.code).toBe(Code.Unimplemented);
    expect(missing.rawMessage).toMatch(/missing output message/);
  });

  it("maps a stream reset by the server by its RST_STREAM code (REFUSED_STREAM: UNAVAILABLE)", async () => {
    const { address } = await rawServer((stream) => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM));
    const { orca } = client(address);
    const err = await failure(orca.submitTask(submit));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toMatch(/REFUSED_STREAM/);
  });
});

describe("lean gRPC transport: deadlines, cancellation, sessions", () => {
  it("fails with DEADLINE_EXCEEDED when the deadline passes and resets the stream with CANCEL", async () => {
    let rst: number | undefined;
    const { address } = await rawServer((stream) => {
      stream.on("close", () => {
        rst = stream.rstCode;
      });
    }, true);
    const { orca } = client(address);
    const err = await failure(orca.submitTask(submit, { timeoutMs: 30 }));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(toBatonError(err)).toBeInstanceOf(DeadlineExceededError);
    await expect.poll(() => rst).toBe(http2.constants.NGHTTP2_CANCEL);
  });

  it("cancels by AbortSignal with CANCELED and RST_STREAM CANCEL, and leaves no listener on the signal", async () => {
    let rst: number | undefined;
    let opened!: () => void;
    const open = new Promise<void>((r) => {
      opened = r;
    });
    const { address } = await rawServer((stream) => {
      stream.on("close", () => {
        rst = stream.rstCode;
      });
      opened();
    }, true);
    const { orca } = client(address);
    const controller = new AbortController();
    const call = failure(orca.submitTask(submit, { signal: controller.signal }));
    await open;
    controller.abort();
    const err = await call;
    expect(err.code).toBe(Code.Canceled);
    await expect.poll(() => rst).toBe(http2.constants.NGHTTP2_CANCEL);
    // An already aborted signal fails at once.
    expect((await failure(orca.submitTask(submit, { signal: controller.signal }))).code).toBe(Code.Canceled);
  });

  it("gives interceptors the caller's own signal, and one shared signal (no AbortController) when there is none", async () => {
    const { address } = await rawServer((stream) => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(accepted());
    });
    const signals: AbortSignal[] = [];
    const spy: Interceptor = (next) => (req) => {
      signals.push(req.signal);
      return next(req);
    };
    const { orca } = client(address, { interceptors: [spy] });
    const own = new AbortController().signal;
    await orca.submitTask(submit, { signal: own });
    await orca.submitTask(submit);
    await orca.submitTask(submit);
    expect(signals[0]).toBe(own);
    expect(signals[1]).toBe(signals[2]);
    expect(signals[1]?.aborted).toBe(false);
  });

  it("uses one HTTP/2 session for every call and moves to a new one after GOAWAY", async () => {
    const sessionsSeen = new Set<http2.ServerHttp2Session>();
    let goAway = false;
    const { address } = await rawServer((stream) => {
      sessionsSeen.add(stream.session as http2.ServerHttp2Session);
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => {
        stream.sendTrailers({ "grpc-status": "0" });
        if (goAway) stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR);
      });
      stream.end(accepted());
    });
    const { orca } = client(address);
    await Promise.all(Array.from({ length: 20 }, () => orca.submitTask(submit)));
    expect(sessionsSeen.size).toBe(1);
    goAway = true;
    await orca.submitTask(submit);
    goAway = false;
    await expect.poll(async () => (await orca.submitTask(submit)).accepted && sessionsSeen.size).toBe(2);
  });

  it("fails a call on a connection the server drops mid-call instead of hanging", async () => {
    const { address } = await rawServer((stream) => stream.session?.destroy(), true);
    const { orca } = client(address);
    const err = await failure(orca.submitTask(submit));
    expect([Code.Unavailable, Code.Canceled, Code.Aborted, Code.Internal]).toContain(err.code);
  });
});

// Server streams (StreamEvents) on the lean transport, which carries them itself.
const ok = { "grpc-status": "0" };
const grpcHead = { ":status": 200, "content-type": "application/grpc" };
const event = (i: number) =>
  envelope(toBinary(StreamEventsResponseSchema, create(StreamEventsResponseSchema, { event: { id: `e-${i}` } })));
const streamReq = { runId: "r", startEventId: 1n };

/** Every event id of the stream, or the error it ended with (and the ids before it). */
async function drain(iterable: AsyncIterable<StreamEventsResponse>): Promise<{ ids: string[]; err?: ConnectError }> {
  const ids: string[] = [];
  try {
    for await (const r of iterable) ids.push(r.event?.id ?? "");
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    return { ids, err: err as ConnectError };
  }
  return { ids };
}

/**
 * Reads a stream as Baton's layers on top read it: `next()`, then every message the
 * iterator already holds (`taken`: how many came that way).
 */
async function drainTaking(
  iterable: AsyncIterable<StreamEventsResponse>,
): Promise<{ ids: string[]; taken: number; err?: ConnectError }> {
  const it = iterable[Symbol.asyncIterator]();
  const ids: string[] = [];
  let taken = 0;
  try {
    for (let r = await it.next(); !r.done; r = await it.next()) {
      ids.push(r.value.event?.id ?? "");
      for (let t = takeFrom(it); t !== undefined; t = takeFrom(it)) {
        ids.push(t.value.event?.id ?? "");
        taken++;
      }
    }
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    return { ids, taken, err: err as ConnectError };
  }
  return { ids, taken };
}

/** A server whose streams send two events and stay open; `rst()` is the RST_STREAM code its stream closed with. */
async function openStreamServer(): Promise<{ address: string; rst: () => number | undefined }> {
  let code: number | undefined;
  const { address } = await rawServer((stream) => {
    stream.on("close", () => {
      code = stream.rstCode;
    });
    stream.respond(grpcHead);
    stream.write(Buffer.concat([event(1), event(2)]));
  });
  return { address, rst: () => code };
}

/** Resolves on a later turn of the event loop. */
const later = () => new Promise<void>((r) => setImmediate(r));

// connect-node's transport differs in a few of these edges (it accepts gzip, resets on a
// deadline with INTERNAL_ERROR, yields messages buffered before an abort), so several fail on it.
describe("server streams over the lean transport", () => {
  it("sends one request envelope, then reads frames split across DATA chunks and several in one chunk", async () => {
    let seen: { headers: http2.IncomingHttpHeaders; body: Buffer } | undefined;
    const { address } = await rawServer(async (stream, headers, body) => {
      seen = { headers, body };
      stream.respond({ ...grpcHead, "x-h": "1" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ ...ok, "x-t": "2" }));
      const all = Buffer.concat(Array.from({ length: 40 }, (_, i) => event(i)));
      // Three frames in one write, then the rest cut at odd places (inside prefixes too).
      let off = 0;
      for (const cut of [event(0).length * 3, 2, 1, 7, 3, 50, 4, 11]) {
        stream.write(all.subarray(off, off + cut));
        off += cut;
        await later();
      }
      stream.end(all.subarray(off));
    });
    const { orca } = client(address);
    let header: Headers | undefined;
    let trailer: Headers | undefined;
    const { ids, err } = await drain(
      orca.streamEvents(streamReq, {
        timeoutMs: 5000,
        onHeader: (h) => {
          header = h;
        },
        onTrailer: (t) => {
          trailer = t;
        },
      }),
    );
    expect(err).toBeUndefined();
    expect(ids).toEqual(Array.from({ length: 40 }, (_, i) => `e-${i}`));
    expect(header?.get("x-h")).toBe("1");
    expect(trailer?.get("x-t")).toBe("2");
    expect(seen?.headers[":path"]).toBe("/orca.v1.Orchestrator/StreamEvents");
    expect(seen?.headers.te).toBe("trailers");
    expect(seen?.headers["grpc-timeout"]).toMatch(/^\d+m$/);
    const body = seen?.body ?? Buffer.alloc(0);
    expect(body.readUInt32BE(1)).toBe(body.length - 5);
    expect(fromBinary(StreamEventsRequestSchema, body.subarray(5)).runId).toBe("r");
  });

  it("hands out the messages it holds at once (takeBuffered), in order, with the end and a bad frame by next()", async () => {
    let bad = false;
    const { address } = await rawServer(async (stream) => {
      stream.respond(grpcHead, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers(ok));
      // 30 frames in one write, the next 10 cut in two, then (on the second call) a frame that does not decode.
      stream.write(Buffer.concat(Array.from({ length: 30 }, (_, i) => event(i))));
      await later();
      const rest = Buffer.concat(Array.from({ length: 10 }, (_, i) => event(30 + i)));
      stream.write(rest.subarray(0, 25));
      await later();
      stream.write(rest.subarray(25));
      await later();
      stream.end(bad ? Buffer.concat([event(40), envelope(new Uint8Array([0x0a, 0x05])), event(41)]) : event(40));
    });
    const { orca } = client(address);
    const clean = await drainTaking(orca.streamEvents(streamReq));
    expect(clean.err).toBeUndefined();
    expect(clean.ids).toEqual(Array.from({ length: 41 }, (_, i) => `e-${i}`));
    // Most of each chunk was taken without a promise.
    expect(clean.taken).toBeGreaterThanOrEqual(30);
    bad = true;
    const broken = await drainTaking(orca.streamEvents(streamReq));
    // The message after the bad frame is never handed out: the stream fails at the bad frame.
    expect(broken.ids).toEqual(Array.from({ length: 41 }, (_, i) => `e-${i}`));
    expect(broken.err?.code).toBe(Code.Internal);
    expect(broken.err?.rawMessage).toMatch(/premature EOF/);
  });

  it("reads trailers-only answers: OK as an empty stream, an error status as the error", async () => {
    let status = 0;
    const { address } = await rawServer((stream) =>
      stream.respond(
        { ...grpcHead, "grpc-status": String(status), "grpc-message": status ? "no such run" : "" },
        { endStream: true },
      ),
    );
    const { orca } = client(address);
    expect(await drain(orca.streamEvents(streamReq))).toEqual({ ids: [] });
    status = Code.NotFound;
    const { ids, err } = await drain(orca.streamEvents(streamReq));
    expect(ids).toEqual([]);
    expect(err?.code).toBe(Code.NotFound);
    expect(err?.rawMessage).toBe("no such run");
  });

  it("delivers the messages before an error status in the trailers, then the error with its metadata", async () => {
    const { address } = await rawServer((stream) => {
      stream.respond({ ...grpcHead, "x-h": "h" }, { waitForTrailers: true });
      stream.on("wantTrailers", () =>
        stream.sendTrailers({ "grpc-status": String(Code.ResourceExhausted), "grpc-message": "budget", "x-t": "t" }),
      );
      stream.end(Buffer.concat([event(1), event(2)]));
    });
    const { orca } = client(address);
    const { ids, err } = await drain(orca.streamEvents(streamReq));
    expect(ids).toEqual(["e-1", "e-2"]);
    expect(err?.code).toBe(Code.ResourceExhausted);
    expect(err?.metadata.get("x-t")).toBe("t");
    expect(err?.metadata.get("x-h")).toBe("h");
  });

  it("fails a stream that ends without a status, or in the middle of a frame, with INTERNAL", async () => {
    let cut = false;
    const { address } = await rawServer((stream) => {
      stream.respond(grpcHead, { waitForTrailers: cut });
      if (cut) {
        stream.on("wantTrailers", () => stream.sendTrailers(ok));
        stream.end(event(1).subarray(0, 6));
      } else stream.end(event(1));
    });
    const { orca } = client(address);
    const missing = await drain(orca.streamEvents(streamReq));
    expect(missing.err?.code).toBe(Code.Internal);
    expect(missing.err?.rawMessage).toMatch(/missing status/);
    cut = true;
    const partial = await drain(orca.streamEvents(streamReq));
    expect(partial.ids).toEqual([]);
    expect(partial.err?.code).toBe(Code.Internal);
  });

  it("maps HTTP statuses and refuses compressed answers (INTERNAL)", async () => {
    let mode: "503" | "gzip" | "flag" = "503";
    const { address } = await rawServer((stream) => {
      if (mode === "503") return stream.respond({ ":status": 503 }, { endStream: true });
      stream.respond(
        { ...grpcHead, ...(mode === "gzip" ? { "grpc-encoding": "gzip" } : {}) },
        { waitForTrailers: true },
      );
      stream.on("wantTrailers", () => stream.sendTrailers(ok));
      stream.end(envelope(new Uint8Array([10, 0]), 1));
    });
    const { orca } = client(address);
    expect((await drain(orca.streamEvents(streamReq))).err?.code).toBe(Code.Unavailable);
    mode = "gzip";
    const gz = (await drain(orca.streamEvents(streamReq))).err;
    expect(gz?.code).toBe(Code.Internal);
    expect(gz?.rawMessage).toMatch(/unsupported response encoding "gzip"/);
    mode = "flag";
    expect((await drain(orca.streamEvents(streamReq))).err?.code).toBe(Code.Internal);
  });

  it("refuses a message over maxReceiveMessageBytes with RESOURCE_EXHAUSTED and resets the stream", async () => {
    let rst: number | undefined;
    const { address } = await rawServer((stream) => {
      stream.on("close", () => {
        rst = stream.rstCode;
      });
      stream.respond(grpcHead);
      const big = Buffer.alloc(5 + 1024);
      big.writeUInt32BE(1024 * 1024, 1);
      stream.write(Buffer.concat([event(1), big]));
    });
    const { orca } = client(address, { maxReceiveMessageBytes: 1000 });
    const { err } = await drain(orca.streamEvents(streamReq));
    expect(err?.code).toBe(Code.ResourceExhausted);
    expect(err?.rawMessage).toMatch(/larger than configured readMaxBytes 1000/);
    await expect.poll(() => rst).toBeDefined();
  });

  it("fails with DEADLINE_EXCEEDED after timeoutMs, mid-stream, and resets the stream with CANCEL", async () => {
    let rst: number | undefined;
    const { address } = await rawServer((stream) => {
      stream.on("close", () => {
        rst = stream.rstCode;
      });
      stream.respond(grpcHead);
      stream.write(event(1));
    });
    const { orca } = client(address);
    const { ids, err } = await drain(orca.streamEvents(streamReq, { timeoutMs: 50 }));
    expect(ids).toEqual(["e-1"]);
    expect(err?.code).toBe(Code.DeadlineExceeded);
    await expect.poll(() => rst).toBe(http2.constants.NGHTTP2_CANCEL);
  });

  it("cancels by AbortSignal mid-stream with CANCELED and RST_STREAM CANCEL", async () => {
    const { address, rst } = await openStreamServer();
    const { orca } = client(address);
    const controller = new AbortController();
    const ids: string[] = [];
    const err = await (async () => {
      for await (const r of orca.streamEvents(streamReq, { signal: controller.signal })) {
        ids.push(r.event?.id ?? "");
        if (ids.length === 1) controller.abort();
      }
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(ids).toEqual(["e-1"]);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Canceled);
    await expect.poll(rst).toBe(http2.constants.NGHTTP2_CANCEL);
    // An aborted signal fails the next stream at once.
    expect((await drain(orca.streamEvents(streamReq, { signal: controller.signal }))).err?.code).toBe(Code.Canceled);
  });

  it("maps a reset by the server mid-stream by its RST_STREAM code, after the messages before it", async () => {
    const { address } = await rawServer((stream) => {
      stream.respond(grpcHead);
      // A destroyed stream is reset at once (close() would end it cleanly first).
      stream.write(event(1), () => setImmediate(() => stream.destroy(new Error("boom"))));
    });
    const { orca } = client(address);
    const { ids, err } = await drain(orca.streamEvents(streamReq));
    expect(ids).toEqual(["e-1"]);
    expect(err?.code).toBe(Code.Internal);
    expect(err?.rawMessage).toMatch(/INTERNAL_ERROR/);
  });

  it("fails with UNAVAILABLE when the connection goes away mid-stream", async () => {
    const { address } = await rawServer((stream) => {
      stream.respond(grpcHead);
      stream.write(event(1), () => setImmediate(() => stream.session?.destroy()));
    });
    const { orca } = client(address);
    const { err } = await drain(orca.streamEvents(streamReq));
    expect(err?.code).toBe(Code.Unavailable);
  });

  it("gives stream interceptors a StreamResponse whose messages they can wrap, and ends the call's signal", async () => {
    const { address } = await rawServer((stream) => {
      stream.respond({ ...grpcHead, "x-h": "1" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers(ok));
      stream.end(Buffer.concat([event(1), event(2)]));
    });
    const seen: string[] = [];
    let signal: AbortSignal | undefined;
    const spy: Interceptor = (next) => async (req) => {
      signal = req.signal;
      const res = await next(req);
      if (!res.stream) return res;
      seen.push(`header ${res.header.get("x-h")}`);
      return {
        ...res,
        message: (async function* () {
          for await (const m of res.message) {
            seen.push("message");
            yield m;
          }
        })(),
      };
    };
    const { orca } = client(address, { interceptors: [spy] });
    expect((await drain(orca.streamEvents(streamReq))).ids).toEqual(["e-1", "e-2"]);
    expect(seen).toEqual(["header 1", "message", "message"]);
    expect(signal?.aborted).toBe(true);
  });
});

describe("server streams over the lean transport: backpressure, break, TLS and Unix sockets", () => {
  it("stops reading while the consumer is behind (memory bounded) and resumes when it pulls", async () => {
    const total = 4000;
    let written = 0;
    let stalled = false;
    const { address } = await rawServer(async (stream) => {
      stream.respond(grpcHead, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers(ok));
      const pad = "x".repeat(1000);
      for (let i = 0; i < total && !stream.destroyed; i++) {
        const frame = envelope(
          toBinary(
            StreamEventsResponseSchema,
            create(StreamEventsResponseSchema, { event: { id: `e-${i}`, payloadJson: pad } }),
          ),
        );
        if (!stream.write(frame)) {
          stalled = true;
          await new Promise((r) => stream.once("drain", r));
          stalled = false;
        }
        written += frame.length;
      }
      stream.end();
    });
    const { conn } = client(address);
    const orca = createClient(Orchestrator, conn.transport);
    const it = orca.streamEvents(streamReq)[Symbol.asyncIterator]();
    expect((await it.next()).value?.event?.id).toBe("e-0");
    // The consumer stops pulling: the server must end up blocked on flow control, far short
    // of the ~4 MB it has to send.
    await expect.poll(() => stalled, { timeout: 10_000 }).toBe(true);
    let before = -1;
    await expect
      .poll(
        () => {
          const same = written === before;
          before = written;
          return same && stalled;
        },
        { timeout: 10_000, interval: 100 },
      )
      .toBe(true);
    expect(written).toBeLessThan(1024 * 1024);
    let got = 1;
    for (let r = await it.next(); !r.done; r = await it.next()) got++;
    expect(got).toBe(total);
  });

  it("resets the stream with CANCEL when the consumer returns early", async () => {
    const { address, rst } = await openStreamServer();
    const { conn } = client(address);
    const res = await conn.transport.stream(
      Orchestrator.method.streamEvents,
      undefined,
      undefined,
      undefined,
      (async function* () {
        yield create(StreamEventsRequestSchema, streamReq);
      })(),
      undefined,
    );
    for await (const m of res.message) {
      expect(m.event?.id).toBe("e-1");
      break;
    }
    await expect.poll(rst).toBe(http2.constants.NGHTTP2_CANCEL);
  });

  it("createRawClient: `break` cancels the call with RST_STREAM CANCEL; a stream nobody reads cancels on its signal", async () => {
    const { address, rst } = await openStreamServer();
    const { orca } = client(address);
    for await (const r of orca.streamEvents(streamReq)) {
      expect(r.event?.id).toBe("e-1");
      break;
    }
    await expect.poll(rst).toBe(http2.constants.NGHTTP2_CANCEL);
    // Never iterated: no unhandled rejection when its signal cancels it.
    const controller = new AbortController();
    orca.streamEvents(streamReq, { signal: controller.signal });
    controller.abort();
    await later();
  });

  it("createRawClient hands out the messages connect's createClient does, with the same header and error", async () => {
    const { address } = await rawServer((stream) => {
      stream.respond({ ...grpcHead, "x-h": "1" }, { waitForTrailers: true });
      stream.on("wantTrailers", () =>
        stream.sendTrailers({ "grpc-status": String(Code.NotFound), "grpc-message": "gone", "x-t": "2" }),
      );
      stream.end(Buffer.concat([event(1), event(2)]));
    });
    const { conn } = client(address);
    const seen = async (orca: ReturnType<typeof client>["orca"]) => {
      const got: { header?: string | null; trailer?: string | null } = {};
      const out = await drain(
        orca.streamEvents(streamReq, {
          onHeader: (h) => {
            got.header = h.get("x-h");
          },
          onTrailer: (t) => {
            got.trailer = t.get("x-t");
          },
        }),
      );
      return { ...got, ids: out.ids, code: out.err?.code, message: out.err?.rawMessage };
    };
    const lean = await seen(createRawClient(Orchestrator, conn.transport));
    // As connect's: onTrailer is called on a clean end only (the error carries the trailer).
    expect(lean).toEqual({ header: "1", ids: ["e-1", "e-2"], code: Code.NotFound, message: "gone" });
    expect(await seen(createClient(Orchestrator, conn.transport))).toEqual(lean);
  });

  const files = scratch();
  const dir = files.dir;
  const respond = (stream: http2.ServerHttp2Stream) => {
    stream.respond(grpcHead, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers(ok));
    stream.end(Buffer.concat([event(1), event(2), event(3)]));
  };

  it("streams over TLS", async () => {
    const { cert, key, ca } = files.cert();
    const { address } = await rawServer(respond, false, { tls: { key: Buffer.from(key), cert: Buffer.from(cert) } });
    const { orca } = client(address, { tls: { ca } });
    expect((await drain(orca.streamEvents(streamReq))).ids).toEqual(["e-1", "e-2", "e-3"]);
  });

  it("streams over a Unix socket", async () => {
    const { address } = await rawServer(respond, false, { socketPath: join(dir, "s.sock") });
    const { orca } = client(address);
    expect((await drain(orca.streamEvents(streamReq))).ids).toEqual(["e-1", "e-2", "e-3"]);
  });

  afterAll(() => files.done());
});
