// Malformed envelopes and refusals the fuzz test found (#8.5, #13.5): a body that ends
// inside an envelope is INVALID_ARGUMENT (Connect said UNIMPLEMENTED "missing input
// message"); a compressed flag with no encoding, flag bits no request may set and bytes that
// do not decompress are INVALID_ARGUMENT on streams too (Connect said INTERNAL); an unknown
// encoding is UNIMPLEMENTED; a bidi stream over HTTP/1.1 and Connect GETs Connect refuses
// with a bare 405 / 415 are answered in the request's own protocol, with a reason.
import type * as http2 from "node:http2";
import { type BatonServer, baaahtModule, startServer } from "@baton/server";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcFrame, grpcHeaders, h2Call, healthRequest, RawConnection, withH2Session } from "./hardening-support.js";

const CHECK = "/grpc.health.v1.Health/Check";
const WATCH = "/grpc.health.v1.Health/Watch";
const BIDI = "/orchestrator.v1.OrchestratorService/StreamMessages";

let server: BatonServer;
let address: string;
beforeAll(async () => {
  server = await startServer({ listen: ["127.0.0.1:0"], modules: [baaahtModule()] });
  address = server.addresses[0] as string;
});
afterAll(() => server.close());

const withSession = <T>(fn: (s: http2.ClientHttp2Session) => Promise<T>) => withH2Session(address, fn);

async function http1(head: string, body: Buffer = Buffer.alloc(0)) {
  const conn = new RawConnection(address);
  conn.write(Buffer.concat([Buffer.from(`${head}Content-Length: ${body.length}\r\n\r\n`), body]));
  const res = await conn.response();
  conn.close();
  return res;
}

/** Bytes that are not gzip: a protobuf message, a gzip header cut short, a gzip header and garbage. */
const NOT_GZIP = [
  healthRequest(3),
  Buffer.from([0x1f, 0x8b, 0x08, 0x00]),
  Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02]),
];

/** A frame whose flag byte is `flags`. */
const flagged = (flags: number) => grpcFrame(healthRequest(3), flags);

describe("envelopes", () => {
  it("a body that ends inside an envelope is INVALID_ARGUMENT, unary and streaming", async () => {
    await withSession(async (s) => {
      const whole = grpcFrame(healthRequest(50));
      for (const path of [CHECK, WATCH]) {
        for (const cut of [3, 20]) {
          const answer = await h2Call(s, grpcHeaders(path), whole.subarray(0, cut));
          expect(answer.grpcStatus, `${path} cut at ${cut}`).toBe(String(Code.InvalidArgument));
          expect(decodeURIComponent(answer.grpcMessage ?? "")).toMatch(/ended inside/);
        }
      }
    });
  });

  it("a compressed flag with no grpc-encoding, or flag bits a request may not set, is INVALID_ARGUMENT", async () => {
    await withSession(async (s) => {
      for (const path of [CHECK, WATCH])
        for (const flags of [0x01, 0x02, 0x40, 0x80]) {
          const answer = await h2Call(s, grpcHeaders(path), flagged(flags));
          expect(answer.grpcStatus, `${path} flags ${flags}`).toBe(String(Code.InvalidArgument));
        }
    });
  });

  it("an unknown grpc-encoding is UNIMPLEMENTED; bytes that are not gzip are INVALID_ARGUMENT on a stream too", async () => {
    await withSession(async (s) => {
      for (const path of [CHECK, WATCH, BIDI]) {
        const unknown = await h2Call(s, { ...grpcHeaders(path), "grpc-encoding": "x-bogus" }, flagged(1));
        expect(unknown.grpcStatus, path).toBe(String(Code.Unimplemented));
        for (const payload of NOT_GZIP) {
          const garbage = await h2Call(s, { ...grpcHeaders(path), "grpc-encoding": "gzip" }, grpcFrame(payload, 1));
          expect(garbage.grpcStatus, `${path} ${payload.toString("hex")}`).toBe(String(Code.InvalidArgument));
        }
      }
      const good = await h2Call(s, grpcHeaders(CHECK), grpcFrame(healthRequest(0)));
      expect(good.grpcStatus).toBe("0");
    });
  });

  it("Connect unary: a body that says gzip and is not is 400 invalid_argument", async () => {
    for (const payload of NOT_GZIP) {
      const res = await http1(
        `POST ${CHECK} HTTP/1.1\r\nHost: x\r\nContent-Type: application/proto\r\nContent-Encoding: gzip\r\n`,
        payload,
      );
      expect(res.status, payload.toString("hex")).toBe(400);
      expect(JSON.parse(res.body.toString())).toMatchObject({ code: "invalid_argument" });
    }
  });
});

describe("refusals in the request's protocol", () => {
  it("a bidi stream over HTTP/1.1 is UNIMPLEMENTED with a reason (gRPC-Web), 505 unimplemented (Connect)", async () => {
    const web = await http1(
      `POST ${BIDI} HTTP/1.1\r\nHost: x\r\nContent-Type: application/grpc-web+proto\r\n`,
      grpcFrame(new Uint8Array()),
    );
    expect(web.status).toBe(200);
    expect(web.headers["grpc-status"]).toBe(String(Code.Unimplemented));
    expect(decodeURIComponent(web.headers["grpc-message"] ?? "")).toMatch(/HTTP\/2/);
    const connect = await http1(
      `POST ${BIDI} HTTP/1.1\r\nHost: x\r\nContent-Type: application/connect+proto\r\n`,
      grpcFrame(new Uint8Array()),
    );
    const end = connect.body.subarray(5).toString();
    expect(JSON.parse(end)).toMatchObject({ error: { code: "unimplemented" } });
  });

  it("Connect GET of a method with side effects is 405 with a Connect error; an unknown encoding 415", async () => {
    const post = await http1(
      `GET /orchestrator.v1.OrchestratorService/CreateSession?connect=v1&encoding=proto&base64=1&message= HTTP/1.1\r\nHost: x\r\n`,
    );
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe("POST");
    expect(JSON.parse(post.body.toString())).toMatchObject({ code: "unimplemented" });
    const xml = await http1(`GET ${CHECK}?connect=v1&encoding=xml&base64=1&message= HTTP/1.1\r\nHost: x\r\n`);
    expect(xml.status).toBe(415);
    expect(JSON.parse(xml.body.toString())).toMatchObject({ code: "unimplemented" });
  });
});
