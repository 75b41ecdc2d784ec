// Refusals in each protocol's own terms (#13.11, #8.5): URLs and headers over 16 KiB get 431
// with a problem+json body (gRPC content types: RESOURCE_EXHAUSTED), unknown gRPC methods a
// gRPC UNIMPLEMENTED status, unknown Connect procedures Connect's `unimplemented`, and
// unknown REST paths stay a 404 problem.
import type * as http2 from "node:http2";
import { type BatonServer, baaahtModule, MAX_HEADER_BYTES, startServer } from "@baton/server";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcFrame, grpcHeaders, h2Call, healthRequest, http1Exchange, withH2Session } from "./hardening-support.js";

let server: BatonServer;
let address: string;
beforeAll(async () => {
  server = await startServer({ listen: ["127.0.0.1:0"], modules: [baaahtModule()] });
  address = server.addresses[0] as string;
});
afterAll(() => server.close());

const http1 = (request: string | Buffer) => http1Exchange(address, request);

const withSession = <T>(fn: (s: http2.ClientHttp2Session) => Promise<T>) => withH2Session(address, fn);

const longPath = `/v1/${"a".repeat(MAX_HEADER_BYTES + 100)}`;

describe("431", () => {
  it("HTTP/1.1: a URL over the limit gets 431 with a problem+json body", async () => {
    const res = await http1(`GET ${longPath} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(res.status).toBe(431);
    expect(res.headers["content-type"]).toBe("application/problem+json");
    expect(JSON.parse(res.body.toString())).toMatchObject({ status: 431, title: "Request Header Fields Too Large" });
  });

  it("HTTP/1.1: headers over the limit on a gRPC-Web call get RESOURCE_EXHAUSTED", async () => {
    const res = await http1(
      `POST /grpc.health.v1.Health/Check HTTP/1.1\r\nHost: x\r\nContent-Type: application/grpc-web+proto\r\nX-Big: ${"b".repeat(MAX_HEADER_BYTES)}\r\n\r\n`,
    );
    expect(res.status).toBe(200);
    expect(res.headers["grpc-status"]).toBe(String(Code.ResourceExhausted));
  });

  it("HTTP/2: a URL over the limit gets 431 with a problem+json body; a gRPC call RESOURCE_EXHAUSTED", async () => {
    await withSession(async (session) => {
      const rest = await h2Call(session, { ":method": "GET", ":path": longPath }, Buffer.alloc(0));
      expect(rest.status).toBe(431);
      expect(rest.headers["content-type"]).toBe("application/problem+json");
      expect(JSON.parse(rest.body.toString())).toMatchObject({ status: 431 });
      const rpc = await h2Call(
        session,
        { ...grpcHeaders("/grpc.health.v1.Health/Check"), "x-big": "b".repeat(MAX_HEADER_BYTES) },
        grpcFrame(healthRequest(0)),
      );
      expect(rpc.status).toBe(200);
      expect(rpc.grpcStatus).toBe(String(Code.ResourceExhausted));
    });
  });
});

describe("unknown methods", () => {
  it("gRPC: HTTP 200 with grpc-status UNIMPLEMENTED in a trailers-only answer", async () => {
    await withSession(async (session) => {
      const a = await h2Call(session, grpcHeaders("/nope.v1.Nothing/Here"), grpcFrame(Buffer.alloc(0)));
      expect(a.status).toBe(200);
      expect(a.headers["grpc-status"]).toBe(String(Code.Unimplemented));
      expect(a.body.length).toBe(0);
    });
  });

  it("gRPC-Web: grpc-status UNIMPLEMENTED", async () => {
    const frame = grpcFrame(Buffer.alloc(0));
    const res = await http1(
      Buffer.concat([
        Buffer.from(
          `POST /nope.v1.Nothing/Here HTTP/1.1\r\nHost: x\r\nContent-Type: application/grpc-web+proto\r\nContent-Length: ${frame.length}\r\n\r\n`,
        ),
        frame,
      ]),
    );
    expect(res.status).toBe(200);
    expect(res.headers["grpc-status"]).toBe(String(Code.Unimplemented));
  });

  it("Connect: 404 with the Connect error unimplemented", async () => {
    const res = await http1(
      `POST /nope.v1.Nothing/Here HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
    );
    expect(res.status).toBe(404);
    expect(res.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(res.body.toString())).toMatchObject({ code: "unimplemented" });
  });

  it("REST: an unknown path is still a 404 problem", async () => {
    const res = await http1("GET /v1/nowhere HTTP/1.1\r\nHost: x\r\n\r\n");
    expect(res.status).toBe(404);
    expect(res.headers["content-type"]).toBe("application/problem+json");
  });
});
