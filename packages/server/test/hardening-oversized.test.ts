// Over-limit requests (#13.2, #13.4, #8.2): a refused body leaves an HTTP/1.1 keep-alive
// connection usable (or closed with `Connection: close`), ends only its own HTTP/2 stream
// (with RESOURCE_EXHAUSTED, then a reset so the upload stops), and responses over the send
// limit fail instead of going out.
import * as http2 from "node:http2";
import { Connection } from "@baton/core";
import { type BatonServer, baaahtModule, MAX_DRAIN_BYTES, startServer } from "@baton/server";
import { grpcHealth } from "@baton/wire/baaaht";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { grpcFrame, grpcHeaders, h2Call, healthRequest, RawConnection } from "./hardening-support.js";
import { startPortarium } from "./portarium-support.js";

const CHECK = "/grpc.health.v1.Health/Check";

let server: BatonServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function grpcWebRequest(body: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(
      `POST ${CHECK} HTTP/1.1\r\nHost: x\r\nContent-Type: application/grpc-web+proto\r\nContent-Length: ${body.length}\r\n\r\n`,
    ),
    body,
  ]);
}

describe("an over-limit request on an HTTP/1.1 keep-alive connection", () => {
  it("REST 413: the next request on the same connection is answered", async () => {
    const p = await startPortarium();
    try {
      const token = await p.token();
      const conn = new RawConnection(p.baseUrl.slice("http://".length));
      // Three times the REST limit: the server refuses after reading a third of it.
      const big = JSON.stringify({ workflowId: "x".repeat(3 * 1024 * 1024) });
      conn.write(
        `POST /v1/workspaces/ws-a/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${big.length}\r\n\r\n${big}`,
      );
      const first = await conn.response();
      expect(first.status).toBe(413);
      expect(first.headers["content-type"]).toBe("application/problem+json");
      expect(first.headers.connection?.toLowerCase()).not.toBe("close");
      conn.write(`GET /v1/workspaces/ws-a/runs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`);
      const second = await conn.response();
      expect(second.status).toBe(200);
      conn.close();
    } finally {
      await p.close();
    }
  });

  it("gRPC-Web RESOURCE_EXHAUSTED: the next call on the same connection is answered", async () => {
    server = await startServer({ listen: ["127.0.0.1:0"], modules: [baaahtModule()], maxReceiveMessageBytes: 1024 });
    const conn = new RawConnection(server.addresses[0] as string);
    conn.write(grpcWebRequest(grpcFrame(healthRequest(2 * 1024 * 1024))));
    const first = await conn.response();
    expect(first.status).toBe(200);
    expect(first.body.toString("latin1")).toContain("grpc-status: 8");
    conn.write(grpcWebRequest(grpcFrame(healthRequest(0))));
    const second = await conn.response();
    expect(second.body.toString("latin1")).toContain("grpc-status: 0");
    conn.close();
  });

  it("a body too large to drain: the refusal says Connection: close and the connection closes", async () => {
    server = await startServer({ listen: ["127.0.0.1:0"], modules: [baaahtModule()], maxReceiveMessageBytes: 1024 });
    const conn = new RawConnection(server.addresses[0] as string);
    const body = grpcFrame(healthRequest(MAX_DRAIN_BYTES + 1024));
    // Only the start of the body is sent: the server answers without waiting for the rest.
    conn.write(
      Buffer.concat([
        Buffer.from(
          `POST ${CHECK} HTTP/1.1\r\nHost: x\r\nContent-Type: application/grpc-web+proto\r\nContent-Length: ${body.length}\r\n\r\n`,
        ),
        body.subarray(0, 64 * 1024),
      ]),
    );
    const first = await conn.response();
    expect(first.headers.connection?.toLowerCase()).toBe("close");
    expect(first.body.toString("latin1")).toContain("grpc-status: 8");
    await conn.closed;
    // A new connection is served.
    const again = new RawConnection(server.addresses[0] as string);
    again.write(grpcWebRequest(grpcFrame(healthRequest(0))));
    expect((await again.response()).body.toString("latin1")).toContain("grpc-status: 0");
    again.close();
  });
});

describe("an over-limit message on an HTTP/2 connection", () => {
  it("ends its own stream with RESOURCE_EXHAUSTED and a reset; concurrent calls on the session are unaffected", async () => {
    server = await startServer({ listen: ["127.0.0.1:0"], modules: [baaahtModule()], maxReceiveMessageBytes: 1024 });
    const session = http2.connect(`http://${server.addresses[0]}`);
    session.on("error", () => {});
    const big = grpcFrame(healthRequest(8 * 1024 * 1024));
    const small = grpcFrame(healthRequest(0));
    const answers = await Promise.all([
      h2Call(session, grpcHeaders(CHECK), big),
      h2Call(session, grpcHeaders(CHECK), small),
      h2Call(session, grpcHeaders(CHECK), big),
      h2Call(session, grpcHeaders(CHECK), small),
      h2Call(session, grpcHeaders(CHECK), small),
    ]);
    const [big1, small1, big2, small2, small3] = answers;
    for (const a of [big1, big2]) {
      expect(a?.grpcStatus).toBe(String(Code.ResourceExhausted));
      expect(a?.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
    }
    for (const a of [small1, small2, small3]) {
      expect(a?.grpcStatus).toBe("0");
      expect(a?.rstCode).toBe(http2.constants.NGHTTP2_NO_ERROR);
    }
    // The session is still good.
    expect((await h2Call(session, grpcHeaders(CHECK), small)).grpcStatus).toBe("0");
    expect(session.destroyed).toBe(false);
    session.close();
  });
});

describe("the send limit", () => {
  it("fails a response over maxSendMessageBytes with RESOURCE_EXHAUSTED instead of sending it", async () => {
    server = await startServer({ listen: ["127.0.0.1:0"], modules: [baaahtModule()], maxSendMessageBytes: 1 });
    const connection = new Connection({ address: server.addresses[0] as string });
    try {
      const health = createClient(grpcHealth.Health, connection.transport);
      const err = await health.check({ service: "" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
      expect((err as ConnectError).rawMessage).toMatch(/writeMaxBytes/);
    } finally {
      await connection.close();
    }
  });

  it("rejects an invalid send limit", async () => {
    await expect(startServer({ listen: ["127.0.0.1:0"], maxSendMessageBytes: 0 })).rejects.toThrow(
      /maxSendMessageBytes/,
    );
  });
});
