// CORS (#10.2): with --cors-origin, baton-server answers browser preflights and sets the
// CORS headers on gRPC-Web, Connect and REST answers, over HTTP/1.1 and HTTP/2; without
// it, no CORS header at all. Driven over real sockets with node:http and node:http2, so
// nothing hides or adds a header.
import * as http from "node:http";
import * as http2 from "node:http2";
import { type BatonServer, createOrcaModule, createPortariumModule, startServer } from "@baton/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCli } from "../src/cli.js";
import { parseCorsOrigins } from "../src/cors.js";

const APP = "http://app.example.test:8080";
const START_RUN = "/orca.v1.Orchestrator/StartRun";

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(
  address: string,
  method: string,
  path: string,
  headers: http.OutgoingHttpHeaders,
  body?: Buffer | string,
) {
  return new Promise<Answer>((resolve, reject) => {
    const req = http.request(`http://${address}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.once("error", reject);
    req.end(body);
  });
}

const preflight = (address: string, path: string, origin: string, requestHeaders: string) =>
  request(address, "OPTIONS", path, {
    origin,
    "access-control-request-method": "POST",
    "access-control-request-headers": requestHeaders,
  });

/** A gRPC-Web frame of an empty message. */
const emptyGrpcWebFrame = Buffer.from([0, 0, 0, 0, 0]);

async function serve(corsOrigins?: string[]): Promise<BatonServer> {
  return startServer({
    listen: ["127.0.0.1:0"],
    modules: [createOrcaModule, createPortariumModule],
    settings: { "portarium.serviceAccounts": "demo:s3cret:ws-a" },
    ...(corsOrigins ? { corsOrigins } : {}),
  });
}

describe("with --cors-origin", () => {
  let server: BatonServer;
  let address: string;
  beforeAll(async () => {
    server = await serve([APP, "https://other.example.test/"]);
    address = server.addresses[0] as string;
  });
  afterAll(() => server.close());

  it("answers a Connect/gRPC-Web preflight from an allowed origin with 204 and what the protocols need", async () => {
    const res = await preflight(
      address,
      START_RUN,
      APP,
      "content-type, connect-protocol-version, connect-timeout-ms, authorization, x-grpc-web, x-user-agent, x-tenant",
    );
    expect(res.status).toBe(204);
    expect(res.body).toBe("");
    expect(res.headers["access-control-allow-origin"]).toBe(APP);
    const methods = String(res.headers["access-control-allow-methods"]).split(", ");
    expect(methods).toEqual(expect.arrayContaining(["POST", "GET"]));
    const allowed = String(res.headers["access-control-allow-headers"]).split(", ");
    expect(allowed).toEqual(
      expect.arrayContaining([
        "content-type",
        "connect-protocol-version",
        "connect-timeout-ms",
        "grpc-timeout",
        "x-grpc-web",
        "x-user-agent",
        "authorization",
        "idempotency-key",
        "x-correlation-id",
        "x-tenant",
      ]),
    );
    expect(Number(res.headers["access-control-max-age"])).toBeGreaterThan(0);
    expect(res.headers.vary).toContain("Origin");
  });

  it("answers a REST preflight too (the second origin, given with a trailing slash)", async () => {
    const res = await preflight(address, "/v1/workspaces/ws-a/runs", "https://other.example.test", "authorization");
    expect(res.status).toBe(204);
    expect(res.headers["access-control-allow-origin"]).toBe("https://other.example.test");
  });

  it("refuses a preflight from another origin with 403 problem+json and no CORS header", async () => {
    const res = await preflight(address, START_RUN, "http://evil.example.test", "content-type");
    expect(res.status).toBe(403);
    expect(res.headers["content-type"]).toBe("application/problem+json");
    expect(JSON.parse(res.body).detail).toContain("http://evil.example.test is not allowed");
    expect(res.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("sets allow-origin and exposes the gRPC status headers on a gRPC-Web answer", async () => {
    const res = await request(
      address,
      "POST",
      START_RUN,
      { origin: APP, "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      emptyGrpcWebFrame,
    );
    expect(res.status).toBe(200);
    expect(res.headers["access-control-allow-origin"]).toBe(APP);
    const exposed = String(res.headers["access-control-expose-headers"]).split(", ");
    expect(exposed).toEqual(
      expect.arrayContaining(["grpc-status", "grpc-message", "grpc-status-details-bin", "x-request-id"]),
    );
    expect(res.headers.vary).toContain("Origin");
  });

  it("sets allow-origin on a Connect answer, an error one included", async () => {
    const res = await request(
      address,
      "POST",
      START_RUN,
      { origin: APP, "content-type": "application/json", "connect-protocol-version": "1" },
      "{not json",
    );
    expect(res.status).toBe(400);
    expect(res.headers["access-control-allow-origin"]).toBe(APP);
  });

  it("sets allow-origin on a REST answer and exposes x-request-id", async () => {
    const res = await request(address, "GET", "/v1/workspaces/ws-a/runs", { origin: APP });
    expect(res.status).toBe(401);
    expect(res.headers["access-control-allow-origin"]).toBe(APP);
    expect(String(res.headers["access-control-expose-headers"])).toContain("x-request-id");
  });

  it("sets no allow-origin for a request from another origin (the browser then hides the answer)", async () => {
    const res = await request(address, "GET", "/v1/workspaces/ws-a/runs", { origin: "http://evil.example.test" });
    expect(res.headers["access-control-allow-origin"]).toBeUndefined();
    expect(res.headers.vary).toContain("Origin");
  });

  it("does the same over HTTP/2", async () => {
    const session = http2.connect(`http://${address}`);
    session.on("error", () => {});
    try {
      const headers = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
        const stream = session.request({
          ":method": "OPTIONS",
          ":path": START_RUN,
          origin: APP,
          "access-control-request-method": "POST",
        });
        stream.once("response", (h) => {
          resolve(h);
          stream.close();
        });
        stream.once("error", reject);
        stream.end();
      });
      expect(headers[":status"]).toBe(204);
      expect(headers["access-control-allow-origin"]).toBe(APP);
    } finally {
      session.close();
    }
  });
});

describe("with --cors-origin '*'", () => {
  let server: BatonServer;
  beforeAll(async () => {
    server = await serve(["*"]);
  });
  afterAll(() => server.close());

  it("allows any origin with *", async () => {
    const address = server.addresses[0] as string;
    const pre = await preflight(address, START_RUN, "http://anywhere.example.test", "content-type");
    expect(pre.status).toBe(204);
    expect(pre.headers["access-control-allow-origin"]).toBe("*");
    const res = await request(address, "GET", "/v1/workspaces/ws-a/runs", { origin: "http://anywhere.example.test" });
    expect(res.headers["access-control-allow-origin"]).toBe("*");
  });
});

describe("without --cors-origin", () => {
  let server: BatonServer;
  beforeAll(async () => {
    server = await serve();
  });
  afterAll(() => server.close());

  it("sends no CORS header, to preflights or requests", async () => {
    const address = server.addresses[0] as string;
    const pre = await preflight(address, START_RUN, APP, "content-type");
    expect(pre.status).not.toBe(204);
    expect(pre.headers["access-control-allow-origin"]).toBeUndefined();
    expect(pre.headers["access-control-allow-methods"]).toBeUndefined();
    const res = await request(address, "GET", "/v1/workspaces/ws-a/runs", { origin: APP });
    expect(res.headers["access-control-allow-origin"]).toBeUndefined();
    expect(res.headers["access-control-expose-headers"]).toBeUndefined();
  });
});

describe("the setting", () => {
  it("normalizes origins and refuses what is not one", () => {
    expect(parseCorsOrigins(["*", "HTTP://Localhost:3000/", "https://app.example.com:443"])).toEqual([
      "*",
      "http://localhost:3000",
      "https://app.example.com",
    ]);
    for (const bad of ["app.example.com", "http://app.example.com/path", "ftp://x.example", "http://a?x=1", ""]) {
      expect(() => parseCorsOrigins([bad]), bad).toThrow(/--cors-origin wants "\*" or an origin/);
    }
  });

  it("startServer refuses a bad origin", async () => {
    await expect(serve(["not an origin"])).rejects.toThrow(/--cors-origin wants/);
  });

  it("--cors-origin is repeatable, BATON_CORS_ORIGIN takes a comma-separated list, a bad one is refused", () => {
    expect(parseCli(["--cors-origin", APP, "--cors-origin", "*"], {}).corsOrigins).toEqual([APP, "*"]);
    expect(parseCli([], { BATON_CORS_ORIGIN: `${APP}, https://b.example.test` }).corsOrigins).toEqual([
      APP,
      "https://b.example.test",
    ]);
    expect(parseCli([], {}).corsOrigins).toBeUndefined();
    expect(() => parseCli(["--cors-origin", "app.example.com"], {})).toThrow(/--cors-origin wants/);
  });
});
