// Connect (binary) over HTTP/1.1 on the wire, one table run against Baton's lean unary path
// and connect-node's Connect transport: a raw node:http server answers exactly what each case
// needs and sees what the client sends.
import { ErrorInfoSchema } from "@baton/wire/google-rpc";
import { SubmitTaskRequestSchema, SubmitTaskResponseSchema } from "@baton/wire/orca";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
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

const accepted = () =>
  Buffer.from(toBinary(SubmitTaskResponseSchema, create(SubmitTaskResponseSchema, { accepted: true })));
const protoHead = { "content-type": "application/proto" };
const jsonHead = { "content-type": "application/json" };

for (const transport of transports) {
  const client = (address: string, options = {}) => h1Client(cleanups, address, "connect", transport, options);
  const lean = transport === "lean";

  describe(`Connect over HTTP/1.1 (${transport}): requests and answers`, () => {
    it("sends the message as the body with connect-protocol-version and connect-timeout-ms, and reads the answer", async () => {
      const { address, seen } = await h1Server(cleanups, (_req, res) => {
        res.writeHead(200, protoHead);
        res.end(accepted());
      });
      const { orca } = client(address);
      const res = await orca.submitTask(submit, { timeoutMs: 5000, headers: { "x-extra": "1" } });
      expect(res.accepted).toBe(true);
      const req = seen.requests[0]!;
      expect(req.url).toBe("/orca.v1.Orchestrator/SubmitTask");
      expect(req.headers["content-type"]).toBe("application/proto");
      expect(req.headers["connect-protocol-version"]).toBe("1");
      expect(req.headers["connect-timeout-ms"]).toMatch(/^\d+$/);
      expect(req.headers["x-extra"]).toBe("1");
      if (lean) expect(req.headers["accept-encoding"]).toBeUndefined();
      expect(fromBinary(SubmitTaskRequestSchema, req.body).task?.id).toBe("t");
    });

    it("splits trailer- headers into the trailer", async () => {
      const { address } = await h1Server(cleanups, (_req, res) => {
        res.writeHead(200, { ...protoHead, "x-h": "1", "trailer-x-t": "2" });
        res.end(accepted());
      });
      const { orca } = client(address);
      const { header, trailer } = await submitWithMetadata(orca);
      expect(header?.get("x-h")).toBe("1");
      expect(header?.has("trailer-x-t")).toBe(false);
      expect(trailer?.get("x-t")).toBe("2");
    });

    it("reads a JSON error: code, message, details, with headers and trailers as metadata", async () => {
      const detail = toBinary(ErrorInfoSchema, create(ErrorInfoSchema, { reason: "RUN_NOT_FOUND", domain: "orca.v1" }));
      const { address } = await h1Server(cleanups, (_req, res) => {
        res.writeHead(404, { ...jsonHead, "x-header": "h", "trailer-x-trailer": "t" });
        res.end(
          JSON.stringify({
            code: "not_found",
            message: "no such run: ünïcode",
            details: [
              { type: "google.rpc.ErrorInfo", value: Buffer.from(detail).toString("base64").replace(/=+$/, "") },
            ],
          }),
        );
      });
      const { orca } = client(address);
      const err = await failure(orca.submitTask(submit));
      expect(err.code).toBe(Code.NotFound);
      expect(err.rawMessage).toBe("no such run: ünïcode");
      expect(err.metadata.get("x-header")).toBe("h");
      expect(err.metadata.get("x-trailer")).toBe("t");
      expect(toBatonError(err).errorInfo?.reason).toBe("RUN_NOT_FOUND");
    });

    it("maps a non-200 answer without a JSON error by its HTTP status (503 UNAVAILABLE, 429 with bad JSON too)", async () => {
      let json = false;
      const { address } = await h1Server(cleanups, (_req, res) => {
        if (json) {
          res.writeHead(429, jsonHead);
          res.end("{not json");
          return;
        }
        res.writeHead(503, { "content-type": "text/plain" });
        res.end("down");
      });
      const { orca } = client(address);
      let err = await failure(orca.submitTask(submit));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.rawMessage).toBe("HTTP 503");
      json = true;
      err = await failure(orca.submitTask(submit));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.rawMessage).toBe("HTTP 429");
    });

    it("refuses a 200 answer of another content type, and a compressed one it cannot read (INTERNAL)", async () => {
      let encoded = false;
      const { address } = await h1Server(cleanups, (_req, res) => {
        res.writeHead(200, encoded ? { ...protoHead, "content-encoding": "snappy" } : jsonHead);
        res.end(encoded ? accepted() : "{}");
      });
      const { orca } = client(address);
      let err = await failure(orca.submitTask(submit));
      expect(err.code).toBe(Code.Internal);
      expect(err.rawMessage).toMatch(/unsupported content type application\/json/);
      encoded = true;
      err = await failure(orca.submitTask(submit));
      expect(err.code).toBe(Code.Internal);
      expect(err.rawMessage).toMatch(/unsupported response encoding "snappy"/);
    });
  });

  describe(`Connect over HTTP/1.1 (${transport}): limits, deadlines, cancellation, sockets`, () => {
    socketCases(
      cleanups,
      "connect",
      transport,
      {
        ok(res, extra = {}) {
          const trailer = Object.entries(extra.trailer ?? {}).map(([k, v]) => [`trailer-${k}`, v]);
          res.writeHead(200, { ...protoHead, ...extra.header, ...Object.fromEntries(trailer) });
          res.end(accepted());
        },
        timeoutHeader: "connect-timeout-ms",
        timeoutValue: /^\d+$/,
      },
      files,
    );

    const big = Buffer.from(bigAnswer());

    it("refuses an answer over maxReceiveMessageBytes with RESOURCE_EXHAUSTED, with or without a content-length", async () => {
      let chunked = false;
      const { address } = await h1Server(cleanups, (_req, res) => {
        if (chunked) {
          res.writeHead(200, protoHead);
          res.write(big.subarray(0, 2048));
          setTimeout(() => res.end(big.subarray(2048)), 20);
          return;
        }
        res.writeHead(200, { ...protoHead, "content-length": String(big.length) });
        res.end(big);
      });
      const { orca } = client(address, { maxReceiveMessageBytes: 1024 });
      let err = await failure(orca.submitTask(submit));
      expect(err.code).toBe(Code.ResourceExhausted);
      expect(err.rawMessage).toMatch(/larger than configured readMaxBytes 1024/);
      chunked = true;
      err = await failure(orca.submitTask(submit));
      expect(err.code).toBe(Code.ResourceExhausted);
      expect(err.rawMessage).toMatch(/larger than configured readMaxBytes 1024/);
    });
  });
}
