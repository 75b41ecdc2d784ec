// A raw HTTP/1.1 server for the Connect and gRPC-Web transport tests: each test answers exactly
// what it needs (trailers, trailers-only, HTTP errors, compressed or oversized messages, a
// dropped socket) and sees what the client sends, over TCP, TLS or a Unix socket.
import { mkdtempSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Orchestrator } from "@baton/wire/orca";
import { type Client, Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { expect, it } from "vitest";
import { makePki } from "../../../test/support/tls.js";
import { Connection, type ConnectionOptions } from "../src/index.js";

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

/** Where an {@link h1Server} listens: TCP (default), TLS over TCP, or a Unix socket. */
export type Listen = { tls?: { key: string; cert: string }; socketPath?: string };

/** What an {@link h1Server} saw: every request's headers, and how many connections it accepted. */
export interface Seen {
  requests: Array<{ headers: http.IncomingHttpHeaders; url: string; body: Buffer }>;
  connections: number;
}

/**
 * An HTTP/1.1 server: `handler` gets each request once its body has arrived (or at once with
 * `eager`). `cleanups` gets the server's close.
 */
export async function h1Server(
  cleanups: Array<() => Promise<void> | void>,
  handler: Handler,
  options: { eager?: boolean; listen?: Listen } = {},
): Promise<{ address: string; seen: Seen }> {
  const { listen = {} } = options;
  const seen: Seen = { requests: [], connections: 0 };
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    req.on("error", () => {});
    res.on("error", () => {});
    if (options.eager) {
      seen.requests.push({ headers: req.headers, url: req.url ?? "", body: Buffer.alloc(0) });
      handler(req, res, Buffer.alloc(0));
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      seen.requests.push({ headers: req.headers, url: req.url ?? "", body });
      handler(req, res, body);
    });
  };
  const server = listen.tls ? https.createServer(listen.tls, onRequest) : http.createServer(onRequest);
  const sockets = new Set<Socket>();
  server.on(listen.tls ? "secureConnection" : "connection", (s: Socket) => {
    seen.connections++;
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) =>
    listen.socketPath ? server.listen(listen.socketPath, resolve) : server.listen(0, "127.0.0.1", resolve),
  );
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  const address = listen.socketPath
    ? `unix://${listen.socketPath}`
    : `${listen.tls ? "https://" : "http://"}127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { address, seen };
}

/** The transports every case runs on: Baton's lean HTTP/1.1 path and connect-node's. */
export const transports = ["lean", "connect-node"] as const;
export type Http1Transport = (typeof transports)[number];

/** An ORCA client over HTTP/1.1 with `protocol` and `transport` (no retries), closed by `cleanups`. */
export function h1Client(
  cleanups: Array<() => Promise<void> | void>,
  address: string,
  protocol: "grpc-web" | "connect",
  transport: Http1Transport,
  options: Partial<ConnectionOptions> = {},
) {
  const conn = new Connection({
    address,
    protocol,
    httpVersion: "1.1",
    http1Transport: transport,
    retry: false,
    ...options,
  });
  cleanups.push(() => conn.close());
  return { conn, orca: createClient(Orchestrator, conn.transport) };
}

/** One SubmitTask call, with the response headers and trailers its callbacks were given. */
export async function submitWithMetadata(orca: Client<typeof Orchestrator>) {
  let header: Headers | undefined;
  let trailer: Headers | undefined;
  const res = await orca.submitTask(submit, {
    onHeader: (h) => {
      header = h;
    },
    onTrailer: (t) => {
      trailer = t;
    },
  });
  return { res, header, trailer };
}

/** The ConnectError `p` rejects with. */
export async function failure(p: Promise<unknown>): Promise<ConnectError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  return err as ConnectError;
}

/**
 * A directory for Unix sockets and TLS material, and a server key and certificate for
 * 127.0.0.1 with the CA that signed them (the shared test PKI, made on first use); `done()`
 * removes it.
 */
export function scratch(): {
  dir: string;
  cert: () => { key: string; cert: string; ca: string };
  done: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), "baton-h1-"));
  let pair: { key: string; cert: string; ca: string } | undefined;
  return {
    dir,
    cert() {
      if (!pair) {
        const pki = makePki(dir);
        pair = {
          key: pki.serverKey.toString("utf8"),
          cert: pki.serverCert.toString("utf8"),
          ca: pki.ca.toString("utf8"),
        };
      }
      return pair;
    },
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const submit = { runId: "r", task: { id: "t", protocolVersion: 1 } };

/** A SubmitTaskResponse of about 100 kB: field 15 (unknown to it) holding a long string. */
export function bigAnswer(): Uint8Array {
  const n = 100_000;
  // Tag 15 length-delimited, then the length as a varint (3 bytes for 100,000).
  return Buffer.concat([
    Buffer.from([(15 << 3) | 2, (n & 0x7f) | 0x80, ((n >> 7) & 0x7f) | 0x80, n >> 14]),
    Buffer.alloc(n, 0x78),
  ]);
}

/** How a protocol's test answers a unary call with success, and sends its deadline. */
export interface Answering {
  /** Answers with an accepted SubmitTaskResponse, with these extra headers and trailers. */
  ok(res: http.ServerResponse, extra?: { header?: Record<string, string>; trailer?: Record<string, string> }): void;
  /** The request header carrying the deadline, and what its value looks like. */
  timeoutHeader: string;
  timeoutValue: RegExp;
}

/**
 * The cases every HTTP/1.1 protocol and transport passes alike: keep-alive, the send limit,
 * deadlines, cancellation, a dropped connection, interceptors, TLS and Unix sockets.
 */
export function socketCases(
  cleanups: Array<() => Promise<void> | void>,
  protocol: "grpc-web" | "connect",
  transport: Http1Transport,
  answer: Answering,
  files: ReturnType<typeof scratch>,
): void {
  const client = (address: string, options: Partial<ConnectionOptions> = {}) =>
    h1Client(cleanups, address, protocol, transport, options);
  const lean = transport === "lean";
  const ok: Handler = (_req, res) => answer.ok(res);

  it("keeps one socket for sequential calls (keep-alive)", async () => {
    const { address, seen } = await h1Server(cleanups, ok);
    const { orca } = client(address);
    for (let i = 0; i < 5; i++) expect((await orca.submitTask(submit)).accepted).toBe(true);
    expect(seen.connections).toBe(1);
  });

  it("refuses a request over maxSendMessageBytes with RESOURCE_EXHAUSTED", async () => {
    const { address, seen } = await h1Server(cleanups, ok);
    const { orca } = client(address, { maxSendMessageBytes: 64 });
    const err = await failure(orca.submitTask({ runId: "r", task: { id: "x".repeat(100) } }));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/larger than configured writeMaxBytes 64/);
    // The lean path refuses before sending anything (connect-node has sent the headers).
    if (lean) expect(seen.requests).toHaveLength(0);
  });

  it("fails with DEADLINE_EXCEEDED when the deadline passes, having sent the deadline", async () => {
    const { address, seen } = await h1Server(cleanups, () => {}, { eager: true });
    const { orca } = client(address);
    const err = await failure(orca.submitTask(submit, { timeoutMs: 100 }));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(seen.requests[0]?.headers[answer.timeoutHeader]).toMatch(answer.timeoutValue);
  });

  it("cancels by AbortSignal with CANCELED and closes the request's socket", async () => {
    let closed = false;
    const { address, seen } = await h1Server(
      cleanups,
      (req) => {
        req.socket.on("close", () => {
          closed = true;
        });
      },
      { eager: true },
    );
    const { orca } = client(address);
    const ac = new AbortController();
    const call = orca.submitTask(submit, { signal: ac.signal });
    await expect.poll(() => seen.requests.length).toBe(1);
    ac.abort();
    expect((await failure(call)).code).toBe(Code.Canceled);
    await expect.poll(() => closed).toBe(true);
  });

  it("fails a call whose connection the server drops mid-call instead of hanging", async () => {
    const { address } = await h1Server(cleanups, (req) => req.socket.destroy(), { eager: true });
    const { orca } = client(address);
    const err = await failure(orca.submitTask(submit));
    if (lean) expect(err.code).toBe(Code.Unavailable);
    else expect([Code.Unavailable, Code.Aborted, Code.Internal]).toContain(err.code);
  });

  // The transport's CANCELED (the pool closed, not the caller) reaches the caller as
  // UNAVAILABLE, as every dropped connection does (core's retry interceptor).
  it("fails a call in flight when the connection is closed, instead of hanging", async () => {
    const { address, seen } = await h1Server(cleanups, () => {}, { eager: true });
    const { conn, orca } = client(address);
    const call = orca.submitTask(submit);
    await expect.poll(() => seen.requests.length).toBe(1);
    await conn.close();
    const err = await failure(call);
    if (lean) expect(err.code).toBe(Code.Unavailable);
    else expect([Code.Canceled, Code.Aborted, Code.Unavailable]).toContain(err.code);
  });

  it("gives interceptors the request headers, and the response's headers and trailer", async () => {
    const { address } = await h1Server(cleanups, (_req, res) =>
      answer.ok(res, { header: { "x-h": "1" }, trailer: { "x-t": "2" } }),
    );
    const seenByInterceptor: string[] = [];
    const interceptor: Interceptor = (next) => async (req) => {
      seenByInterceptor.push(`req:${req.header.get("content-type")}`);
      const res = await next(req);
      seenByInterceptor.push(`header:${res.header.get("x-h")}`, `trailer:${res.trailer.get("x-t")}`);
      return res;
    };
    const { orca } = client(address, { interceptors: [interceptor] });
    await orca.submitTask(submit);
    const type = protocol === "grpc-web" ? "application/grpc-web+proto" : "application/proto";
    expect(seenByInterceptor).toEqual([`req:${type}`, "header:1", "trailer:2"]);
  });

  it("works over TLS", async () => {
    const pair = files.cert();
    const { address } = await h1Server(cleanups, ok, { listen: { tls: pair } });
    const { orca } = client(address, { tls: { ca: pair.ca } });
    expect((await orca.submitTask(submit)).accepted).toBe(true);
  });

  it("works over a Unix socket", async () => {
    const { address } = await h1Server(cleanups, ok, {
      listen: { socketPath: join(files.dir, `${protocol}-${transport}.sock`) },
    });
    const { orca } = client(address);
    expect((await orca.submitTask(submit)).accepted).toBe(true);
  });
}
