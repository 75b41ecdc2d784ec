// gRPC-Web over HTTP/1.1 on the wire, one table run against Baton's lean unary path and
// connect-node's gRPC-Web transport: a raw node:http server answers exactly what each case
// needs and sees what the client sends.
import { ErrorInfoSchema } from "@baton/wire/google-rpc";
import { StreamEventsResponseSchema, SubmitTaskRequestSchema, SubmitTaskResponseSchema } from "@baton/wire/orca";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { toBatonError } from "../src/index.js";
import {
  bigAnswer,
  failure,
  h1Client,
  h1Server,
  scratch,
  socketCases,
  submit,
  submitWithMetadata,
  transports,
} from "./http1-server.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
const files = scratch();
afterAll(() => files.done());

function envelope(bytes: Uint8Array, flags = 0): Buffer {
  const out = Buffer.alloc(5 + bytes.length);
  out[0] = flags;
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
}

/** A gRPC-Web trailer envelope (flag 0x80) of `name: value\r\n` lines. */
function trailerEnvelope(trailer: Record<string, string>): Buffer {
  const text = Object.entries(trailer)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  return envelope(Buffer.from(text), 0x80);
}

const accepted = () =>
  envelope(toBinary(SubmitTaskResponseSchema, create(SubmitTaskResponseSchema, { accepted: true })));
const webHead = { "content-type": "application/grpc-web+proto" };
const ok = { "grpc-status": "0" };

for (const transport of transports) {
  const client = (address: string, options = {}) => h1Client(cleanups, address, "grpc-web", transport, options);
  const lean = transport === "lean";

  describe(`gRPC-Web over HTTP/1.1 (${transport}): requests and answers`, () => {
    it("sends one envelope with x-grpc-web, the binary content type and grpc-timeout, and reads the message", async () => {
      const { address, seen } = await h1Server(cleanups, (_req, res) => {
        res.writeHead(200, webHead);
        res.end(Buffer.concat([accepted(), trailerEnvelope(ok)]));
      });
      const { orca } = client(address);
      const res = await orca.submitTask(submit, { timeoutMs: 5000, headers: { "x-extra": "1" } });
      expect(res.accepted).toBe(true);
      expect(res.accepted).toBe(true);
      const req = seen.requests[0]!;
      expect(req.url).toBe("/orca.v1.Orchestrator/SubmitTask");
      expect(req.headers["content-type"]).toBe("application/grpc-web+proto");
      expect(req.headers["x-grpc-web"]).toBe("1");
      expect(req.headers["grpc-timeout"]).toMatch(/^\d+m$/);
      expect(req.headers["x-extra"]).toBe("1");
      if (lean) expect(req.headers["grpc-accept-encoding"]).toBeUndefined();
      expect(req.body[0]).toBe(0);
      expect(req.body.readUInt32BE(1)).toBe(req.body.length - 5);
      expect(fromBinary(SubmitTaskRequestSchema, req.body.subarray(5)).task?.id).toBe("t");
    });

    it("returns response headers and the trailer envelope's fields with the message", async () => {
      const { address } = await h1Server(cleanups, (_req, res) => {
        res.writeHead(200, { ...webHead, "x-h": "1" });
        res.end(Buffer.concat([accepted(), trailerEnvelope({ ...ok, "x-t": "2" })]));
      });
      const { orca } = client(address);
      const { header, trailer } = await submitWithMetadata(orca);
      expect(header?.get("x-h")).toBe("1");
      expect(trailer?.get("x-t")).toBe("2");
      expect(trailer?.get("grpc-status")).toBe("0");
    });

    it("reads an error status, percent-decoded message and details from the trailer envelope", async () => {
      const status: Record<string, string> = {};
      setTrailerStatus(
        new Headers(),
        new ConnectError("no such run", Code.NotFound, undefined, [
          { desc: ErrorInfoSchema, value: { reason: "RUN_NOT_FOUND", domain: "orca.v1" } },
        ]),
      ).forEach((value, key) => {
        status[key] = value;
      });
      let details = true;
      const { address } = await h1Server(cleanups, (_req, res) => {
        res.writeHead(200, { ...webHead, "x-header": "h" });
        res.end(
          details
            ? trailerEnvelope({ ...status, "x-trailer": "t" })
            : trailerEnvelope({ "grpc-status": "5", "grpc-message": encodeURIComponent("no such run: ünïcode") }),
        );
      });
      const { orca } = client(address);
      let err = await failure(orca.submitTask(submit));
      expect(err.code).toBe(Code.NotFound);
      expect(err.rawMessage).toBe("no such run");
      expect(err.metadata.get("x-trailer")).toBe("t");
      expect(err.metadata.get("x-header")).toBe("h");
      expect(toBatonError(err).errorInfo?.reason).toBe("RUN_NOT_FOUND");
      details = false;
      err = await failure(orca.submitTask(submit));
      expect(err.code).toBe(Code.NotFound);
      expect(err.rawMessage).toBe("no such run: ünïcode");
    });

    it("reads a trailers-only answer (the status in the HTTP headers, no body)", async () => {
      const { address } = await h1Server(cleanups, (_req, res) => {
        res.writeHead(200, { ...webHead, "grpc-status": String(Code.PermissionDenied), "grpc-message": "nope" });
        res.end();
      });
      const { orca } = client(address);
      const err = await failure(orca.submitTask(submit));
      expect(err.code).toBe(Code.PermissionDenied);
      expect(err.rawMessage).toBe("nope");
    });

    it("maps an HTTP status outside 2xx as connect-es does (503 UNAVAILABLE, 404 UNIMPLEMENTED, 401 UNAUTHENTICATED)", async () => {
      let status = 503;
      const { address } = await h1Server(cleanups, (_req, res) => {
        res.writeHead(status, { "content-type": "text/plain" });
        res.end("no");
      });
      const { orca } = client(address);
      expect((await failure(orca.submitTask(submit))).code).toBe(Code.Unavailable);
      status = 404;
      expect((await failure(orca.submitTask(submit))).code).toBe(Code.Unimplemented);
      status = 401;
      const err = await failure(orca.submitTask(submit));
      expect(err.code).toBe(Code.Unauthenticated);
      expect(err.rawMessage).toBe("HTTP 401");
    });

    it("refuses an answer without a trailer (UNKNOWN) or without a message (UNIMPLEMENTED), and an extra message", async () => {
      let body = accepted();
      const { address } = await h1Server(cleanups, (_req, res) => {
        res.writeHead(200, webHead);
        res.end(body);
      });
      const { orca } = client(address);
      let err = await failure(orca.submitTask(submit));
      expect(err.code).toBe(Code.Unknown);
      expect(err.rawMessage).toMatch(/missing trailer/);
      body = trailerEnvelope(ok);
      err = await failure(orca.submitTask(submit));
      expect(err.code).toBe(Code.Unimplemented);
      expect(err.rawMessage).toMatch(/missing output message/);
      body = Buffer.concat([accepted(), accepted(), trailerEnvelope(ok)]);
      err = await failure(orca.submitTask(submit));
      expect(err.code).toBe(Code.Unimplemented);
      expect(err.rawMessage).toMatch(/extra output message/);
    });

    it("refuses compressed answers: a grpc-encoding it cannot read, or a compressed flag (INTERNAL)", async () => {
      let compressedFlag = false;
      const { address } = await h1Server(cleanups, (_req, res) => {
        if (compressedFlag) {
          res.writeHead(200, webHead);
          res.end(Buffer.concat([envelope(Buffer.from([1, 2, 3]), 1), trailerEnvelope(ok)]));
          return;
        }
        res.writeHead(200, { ...webHead, "grpc-encoding": "snappy" });
        res.end(Buffer.concat([accepted(), trailerEnvelope(ok)]));
      });
      const { orca } = client(address);
      let err = await failure(orca.submitTask(submit));
      expect(err.code).toBe(Code.Internal);
      expect(err.rawMessage).toMatch(/unsupported response encoding "snappy"/);
      compressedFlag = true;
      err = await failure(orca.submitTask(submit));
      expect(err.code).toBe(Code.Internal);
      expect(err.rawMessage).toMatch(/compressed/);
    });
  });

  describe(`gRPC-Web over HTTP/1.1 (${transport}): limits, deadlines, cancellation, sockets`, () => {
    socketCases(
      cleanups,
      "grpc-web",
      transport,
      {
        ok(res, extra = {}) {
          res.writeHead(200, { ...webHead, ...extra.header });
          res.end(Buffer.concat([accepted(), trailerEnvelope({ ...ok, ...extra.trailer })]));
        },
        timeoutHeader: "grpc-timeout",
        timeoutValue: /^\d+m$/,
      },
      files,
    );

    it("refuses an answer over maxReceiveMessageBytes with RESOURCE_EXHAUSTED", async () => {
      const big = envelope(bigAnswer());
      const { address } = await h1Server(cleanups, (_req, res) => {
        res.writeHead(200, webHead);
        // The prefix first: the client can refuse it before the rest arrives.
        res.write(big.subarray(0, 5));
        setTimeout(() => res.end(Buffer.concat([big.subarray(5), trailerEnvelope(ok)])), 20);
      });
      const { orca } = client(address, { maxReceiveMessageBytes: 1024 });
      const err = await failure(orca.submitTask(submit));
      expect(err.code).toBe(Code.ResourceExhausted);
      expect(err.rawMessage).toMatch(/larger than configured readMaxBytes 1024/);
    });

    it("carries server streams (through connect-node's gRPC-Web transport)", async () => {
      const ev = (i: number) =>
        envelope(toBinary(StreamEventsResponseSchema, create(StreamEventsResponseSchema, { event: { id: `e-${i}` } })));
      const { address } = await h1Server(cleanups, (_req, res) => {
        res.writeHead(200, webHead);
        res.end(Buffer.concat([ev(1), ev(2), trailerEnvelope(ok)]));
      });
      const { orca } = client(address);
      const ids: string[] = [];
      for await (const r of orca.streamEvents({ runId: "r", startEventId: 1n })) ids.push(r.event?.id ?? "");
      expect(ids).toEqual(["e-1", "e-2"]);
    });
  });
}
