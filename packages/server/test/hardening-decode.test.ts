// Undecodable requests (#13.5): bad base64 in a Connect GET, garbage protobuf over Connect,
// gRPC and gRPC-Web (compressed or not) are INVALID_ARGUMENT (Connect: HTTP 400), never
// 500 / INTERNAL; a frame whose end never comes fails with the request timeout.
import * as http2 from "node:http2";
import { gzipSync } from "node:zlib";
import { type BatonServer, baaahtModule, startServer } from "@baton/server";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcFrame, grpcHeaders, h2Call, healthRequest, http1Exchange } from "./hardening-support.js";

const CHECK = "/grpc.health.v1.Health/Check";
/** Not a protobuf message: field 1, length-delimited, says 127 bytes follow, and none do. */
const GARBAGE = Buffer.from([0x0a, 0x7f, 0x01]);

let server: BatonServer;
let address: string;
beforeAll(async () => {
  server = await startServer({ listen: ["127.0.0.1:0"], modules: [baaahtModule()], requestTimeoutMs: 300 });
  address = server.addresses[0] as string;
});
afterAll(() => server.close());

const http1 = (request: string | Buffer) => http1Exchange(address, request);

describe("Connect", () => {
  it("GET with a message that is not base64 is 400 invalid_argument", async () => {
    const res = await http1(
      `GET ${CHECK}?connect=v1&encoding=proto&base64=1&message=%25%25%25%25 HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString())).toMatchObject({ code: "invalid_argument" });
  });

  it("GET with base64 that is not the message is 400 invalid_argument", async () => {
    const message = GARBAGE.toString("base64url");
    const res = await http1(
      `GET ${CHECK}?connect=v1&encoding=proto&base64=1&message=${message} HTTP/1.1\r\nHost: x\r\n\r\n`,
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString())).toMatchObject({ code: "invalid_argument" });
  });

  it("a good GET still works", async () => {
    const res = await http1(`GET ${CHECK}?connect=v1&encoding=proto&base64=1&message= HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(res.status).toBe(200);
  });

  it("unary application/proto garbage is 400 invalid_argument", async () => {
    const res = await http1(
      Buffer.concat([
        Buffer.from(
          `POST ${CHECK} HTTP/1.1\r\nHost: x\r\nContent-Type: application/proto\r\nContent-Length: ${GARBAGE.length}\r\n\r\n`,
        ),
        GARBAGE,
      ]),
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString())).toMatchObject({ code: "invalid_argument" });
  });

  it("unary gzip-compressed garbage is 400 invalid_argument", async () => {
    const body = gzipSync(GARBAGE);
    const res = await http1(
      Buffer.concat([
        Buffer.from(
          `POST ${CHECK} HTTP/1.1\r\nHost: x\r\nContent-Type: application/proto\r\nContent-Encoding: gzip\r\nContent-Length: ${body.length}\r\n\r\n`,
        ),
        body,
      ]),
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body.toString())).toMatchObject({ code: "invalid_argument" });
  });
});

describe("gRPC and gRPC-Web", () => {
  it("gRPC-Web garbage is INVALID_ARGUMENT", async () => {
    const frame = grpcFrame(GARBAGE);
    const res = await http1(
      Buffer.concat([
        Buffer.from(
          `POST ${CHECK} HTTP/1.1\r\nHost: x\r\nContent-Type: application/grpc-web+proto\r\nContent-Length: ${frame.length}\r\n\r\n`,
        ),
        frame,
      ]),
    );
    expect(res.body.toString("latin1")).toContain(`grpc-status: ${Code.InvalidArgument}`);
  });

  it("gRPC garbage, plain or gzip-compressed, is INVALID_ARGUMENT; a good call still works", async () => {
    const session = http2.connect(`http://${address}`);
    session.on("error", () => {});
    try {
      const plain = await h2Call(session, grpcHeaders(CHECK), grpcFrame(GARBAGE));
      expect(plain.grpcStatus).toBe(String(Code.InvalidArgument));
      const gz = await h2Call(
        session,
        { ...grpcHeaders(CHECK), "grpc-encoding": "gzip" },
        grpcFrame(gzipSync(GARBAGE), 1),
      );
      expect(gz.grpcStatus).toBe(String(Code.InvalidArgument));
      const good = await h2Call(session, grpcHeaders(CHECK), grpcFrame(healthRequest(0)));
      expect(good.grpcStatus).toBe("0");
    } finally {
      session.close();
    }
  });

  it("a truncated frame whose END_STREAM never comes fails with DEADLINE_EXCEEDED, and the stream is closed", async () => {
    const session = http2.connect(`http://${address}`);
    session.on("error", () => {});
    try {
      const frame = grpcFrame(healthRequest(100));
      const answer = await h2Call(session, grpcHeaders(CHECK), frame.subarray(0, 20), { end: false });
      expect(answer.grpcStatus).toBe(String(Code.DeadlineExceeded));
      expect(answer.grpcMessage).toMatch(/not%20complete|not complete/);
    } finally {
      session.close();
    }
  });
});
