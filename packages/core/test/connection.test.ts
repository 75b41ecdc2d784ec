import { mkdtempSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ErrorInfoSchema } from "@baton/wire/google-rpc";
import { Orchestrator, StreamEventsResponseSchema } from "@baton/wire/orca";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, createClient } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import {
  BudgetExceededError,
  Connection,
  connectCallOptions,
  DeadlineExceededError,
  InvalidArgumentError,
  isBodyInMemory,
  MAX_TIMEOUT_MS,
  toBatonError,
  UnavailableError,
} from "../src/index.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Listens on a loopback port; the cleanup destroys the server's sockets, then closes it. */
function listen(server: net.Server): Promise<string> {
  const sockets = new Set<net.Socket>();
  server.on("connection", (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`));
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
    );
  });
}

/** A gRPC server (connect-node over HTTP/2) on a loopback port. */
async function orcaServer(routes: (router: ConnectRouter) => void): Promise<string> {
  return listen(http2.createServer(connectNodeAdapter({ routes })));
}

function connection(options: ConstructorParameters<typeof Connection>[0]): Connection {
  const c = new Connection(options);
  cleanups.push(() => c.close());
  return c;
}

describe("Connection dial timeout", () => {
  it("fails a call to a server that accepts the socket and never speaks HTTP/2", async () => {
    // Accepts every socket and never says anything.
    const address = await listen(net.createServer());
    const conn = connection({ address, dialTimeoutMs: 200, retry: false });
    const orca = createClient(Orchestrator, conn.transport);
    const err = await orca.startRun({ workflowId: "wf" }).catch((e: unknown) => toBatonError(e));
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).message).toMatch(/handshake/);
  });

  it("does not cut a healthy HTTP/2 connection after the dial timeout", async () => {
    let calls = 0;
    const address = await orcaServer((r) =>
      r.service(Orchestrator, {
        startRun: (req) => {
          calls++;
          return { runId: req.workflowId };
        },
      }),
    );
    // A dial timeout a loaded machine still dials within, and a wait well past it.
    const conn = connection({ address, dialTimeoutMs: 1000 });
    const orca = createClient(Orchestrator, conn.transport);
    expect((await orca.startRun({ workflowId: "a" })).runId).toBe("a");
    await new Promise((r) => setTimeout(r, 1500));
    expect((await orca.startRun({ workflowId: "b" })).runId).toBe("b");
    expect(calls).toBe(2);
  });
});

describe("Connection timeouts", () => {
  it("applies timeoutMs to unary calls and never to streams; streams take idleTimeoutMs", async () => {
    const address = await orcaServer((r) =>
      r.service(Orchestrator, {
        async fetchResult(_req, ctx) {
          await new Promise((resolve) => setTimeout(resolve, 1000, undefined));
          ctx.signal.throwIfAborted();
          return {};
        },
        async *streamEvents(req) {
          // Two events 400 ms apart: longer than the unary deadline, shorter than the idle one.
          for (let i = 1; i <= 2; i++) {
            await new Promise((resolve) => setTimeout(resolve, 400));
            yield { event: { id: String(i), runId: req.runId } };
          }
          if (req.maxEvents === 3) await new Promise((resolve) => setTimeout(resolve, 5000));
        },
      }),
    );
    const conn = connection({ address, timeoutMs: 150, idleTimeoutMs: 2000 });
    const orca = createClient(Orchestrator, conn.transport);
    const unary = await orca.fetchResult({ runId: "r" }).catch((e: unknown) => toBatonError(e));
    expect(unary).toBeInstanceOf(DeadlineExceededError);

    const ids: string[] = [];
    for await (const res of orca.streamEvents({ runId: "r" })) ids.push(res.event?.id ?? "");
    expect(ids).toEqual(["1", "2"]);

    // The third "event" never comes: the per-call idle timeout ends the stream.
    const idle: string[] = [];
    const err = await (async () => {
      for await (const res of orca.streamEvents(
        { runId: "r", maxEvents: 3 },
        connectCallOptions({ idleTimeoutMs: 1500 }),
      ))
        idle.push(res.event?.id ?? "");
    })().catch((e: unknown) => toBatonError(e));
    expect(idle).toEqual(["1", "2"]);
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect((err as Error).message).toMatch(/sent nothing for 1500 ms/);
  });
});

describe("error details", () => {
  it("decodes ErrorInfo into a typed budget error, over the wire", async () => {
    const address = await orcaServer((r) =>
      r.service(Orchestrator, {
        submitTask() {
          throw new ConnectError("budget exceeded", Code.ResourceExhausted, { "x-correlation-id": "corr-1" }, [
            {
              desc: ErrorInfoSchema,
              value: { reason: "BUDGET_EXCEEDED", domain: "orca.v1", metadata: { limit: "max_tokens" } },
            },
          ]);
        },
        startRun() {
          // An oversized-message style refusal: RESOURCE_EXHAUSTED without the budget reason.
          throw new ConnectError("message too large", Code.ResourceExhausted);
        },
      }),
    );
    const orca = createClient(Orchestrator, connection({ address }).transport);
    const err = toBatonError(await orca.submitTask({ runId: "r" }).catch((e: unknown) => e));
    expect(err).toBeInstanceOf(BudgetExceededError);
    expect((err as BudgetExceededError).limit).toBe("max_tokens");
    expect(err.errorInfo?.domain).toBe("orca.v1");
    expect(err.findDetails(ErrorInfoSchema)[0]?.reason).toBe("BUDGET_EXCEEDED");
    expect(err.requestId).toBe("corr-1");
    expect(err.retryable).toBe(false);
    const other = toBatonError(await orca.startRun({ workflowId: "w" }).catch((e: unknown) => e));
    expect(other).not.toBeInstanceOf(BudgetExceededError);
    expect(other.code).toBe(Code.ResourceExhausted);
  });

  it("keeps binary details that fail to decode out of findDetails", () => {
    const good = toBinary(ErrorInfoSchema, create(ErrorInfoSchema, { reason: "R" }));
    // Details as they arrive from the wire: type name and bytes, one of them corrupt.
    const e = toBatonError(
      Object.assign(new ConnectError("x", Code.Internal), {
        details: [
          { type: "google.rpc.ErrorInfo", value: new Uint8Array([0xff, 0xff, 0xff]) },
          { type: "google.rpc.ErrorInfo", value: good },
        ],
      }),
    );
    expect(e.findDetails(ErrorInfoSchema).map((d) => d.reason)).toEqual(["R"]);
    expect(e.findDetails(StreamEventsResponseSchema)).toEqual([]);
  });
});

describe("Connection.fetch over HTTP/2", () => {
  it("rejects a request aborted before the server answers, instead of hanging", async () => {
    const address = await listen(
      http2.createServer(() => {
        // never answer
      }),
    );
    const conn = connection({ address, httpVersion: "2" });
    const err = await conn
      .fetch(new Request(`http://${address}/slow`, { signal: AbortSignal.timeout(200) }))
      .catch((e: unknown) => e);
    expect((err as Error).name).toBe("TimeoutError");
  });
});

describe("Connection options", () => {
  it("refuses an unknown transport choice with InvalidArgumentError naming the choices", () => {
    for (const k of ["grpcTransport", "http1Transport"] as const) {
      const make = () => new Connection({ address: "127.0.0.1:1", [k]: "fast" as never });
      expect(make, k).toThrow(InvalidArgumentError);
      expect(make, k).toThrow(`unknown ${k} fast: use lean or connect-node`);
    }
  });
});

describe("timeouts beyond a Node timer", () => {
  // Node fires a timer over 2^31-1 ms after 1 ms: such a timeout would fail at once.
  it("refuses them as options, and as a call's own, over the wire, for every gRPC transport", async () => {
    let calls = 0;
    const address = await orcaServer((r) =>
      r.service(Orchestrator, {
        startRun: (req) => {
          calls++;
          return { runId: req.workflowId };
        },
        async *streamEvents() {
          calls++;
          yield { event: { id: "1" } };
        },
      }),
    );
    for (const k of ["timeoutMs", "idleTimeoutMs", "dialTimeoutMs"] as const) {
      expect(() => new Connection({ address, [k]: MAX_TIMEOUT_MS + 1 })).toThrow(InvalidArgumentError);
      expect(() => connection({ address, [k]: MAX_TIMEOUT_MS })).not.toThrow();
    }
    for (const grpcTransport of ["lean", "connect-node"] as const) {
      const orca = createClient(Orchestrator, connection({ address, grpcTransport }).transport);
      const unary = await orca
        .startRun({ workflowId: "w" }, connectCallOptions({ timeoutMs: 2 ** 31 }))
        .catch((e: unknown) => toBatonError(e));
      expect(unary, grpcTransport).toBeInstanceOf(InvalidArgumentError);
      expect((unary as Error).message).toContain(
        `timeoutMs must be a number of ms from 0 (no limit) to ${MAX_TIMEOUT_MS}`,
      );
      const stream = await (async () => {
        for await (const _ of orca.streamEvents({ runId: "r" }, connectCallOptions({ idleTimeoutMs: 2 ** 32 }))) {
          // never reached
        }
      })().catch((e: unknown) => toBatonError(e));
      expect(stream, grpcTransport).toBeInstanceOf(InvalidArgumentError);
      // The longest allowed timeout waits (the call answers) instead of firing at once.
      expect((await orca.startRun({ workflowId: "ok" }, { timeoutMs: MAX_TIMEOUT_MS })).runId).toBe("ok");
    }
    // Refused calls never reached the server.
    expect(calls).toBe(2);
  });
});

describe("Connection.fetch over HTTP/1.1 (undici pool)", () => {
  /** A JSON echo of method, path, body and a header; `/events` streams two events, the second once the test says so. */
  function restServer(release: Promise<void>): http.Server {
    return http.createServer((req, res) => {
      if (req.url === "/events") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("data: one\n\n");
        void release.then(() => res.end("data: two\n\n"));
        return;
      }
      if (req.url === "/never") return;
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.stringify({
          method: req.method,
          path: req.url,
          body: Buffer.concat(chunks).toString(),
          token: req.headers["x-token"] ?? null,
          length: req.headers["content-length"] ?? null,
        });
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        res.end(body);
      });
    });
  }

  it("answers 50 requests in flight over keep-alive sockets, each body in memory and intact", async () => {
    const address = await listen(restServer(Promise.resolve()));
    const conn = connection({ address, httpVersion: "1.1" });
    const answers = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const res = await conn.fetch(
          new Request(`http://${address}/runs/${i}?q=${i}`, {
            method: "POST",
            headers: { "x-token": `t${i}`, "content-type": "application/json" },
            body: JSON.stringify({ i }),
          }),
        );
        expect(isBodyInMemory(res)).toBe(true);
        return { status: res.status, json: await res.json() };
      }),
    );
    answers.forEach(({ status, json }, i) => {
      expect(status).toBe(200);
      expect(json).toEqual({
        method: "POST",
        path: `/runs/${i}?q=${i}`,
        body: JSON.stringify({ i }),
        token: `t${i}`,
        length: String(JSON.stringify({ i }).length),
      });
    });
  });

  it("hands an event stream over as it arrives, not in memory", async () => {
    let release = () => {};
    const released = new Promise<void>((r) => {
      release = r;
    });
    const address = await listen(restServer(released));
    const conn = connection({ address, httpVersion: "1.1" });
    const res = await conn.fetch(new Request(`http://${address}/events`));
    expect(isBodyInMemory(res)).toBe(false);
    const reader = res.body!.getReader();
    const first = await reader.read();
    // The first event arrives while the server still holds the response open.
    expect(new TextDecoder().decode(first.value)).toBe("data: one\n\n");
    release();
    let rest = "";
    for (let n = 0; n < 10; n++) {
      const { value, done } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toBe("data: two\n\n");
  });

  it("rejects a request aborted before the server answers with the signal's reason", async () => {
    const address = await listen(restServer(Promise.resolve()));
    const conn = connection({ address, httpVersion: "1.1" });
    const controller = new AbortController();
    const pending = conn.fetch(new Request(`http://${address}/never`, { signal: controller.signal }));
    setImmediate(() => controller.abort(new Error("given up")));
    await expect(pending).rejects.toThrow("given up");
  });

  it("dials a Unix socket, and fails a closed connection's requests", async () => {
    const dir = mkdtempSync(join(tmpdir(), "baton-h1-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, "rest.sock");
    const server = restServer(Promise.resolve());
    await new Promise<void>((r) => server.listen(path, () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const conn = new Connection({ address: `unix://${path}`, httpVersion: "1.1" });
    const res = await conn.fetch(new Request(`${conn.address.baseUrl}/x`));
    expect(await res.json()).toMatchObject({ method: "GET", path: "/x" });
    await conn.close();
    await expect(conn.fetch(new Request(`${conn.address.baseUrl}/x`))).rejects.toThrow();
  });

  it("fails with fetch failed (cause: the dial error) when nothing listens", async () => {
    const probe = net.createServer();
    const address = await new Promise<string>((r) =>
      probe.listen(0, "127.0.0.1", () => r(`127.0.0.1:${(probe.address() as AddressInfo).port}`)),
    );
    await new Promise<void>((r) => probe.close(() => r()));
    const conn = connection({ address, httpVersion: "1.1" });
    const err = (await conn.fetch(new Request(`http://${address}/x`)).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(TypeError);
    expect((err.cause as NodeJS.ErrnoException).code).toBe("ECONNREFUSED");
  });

  it("exchange: a request with its body in memory, answered whole, over HTTP/1.1 and HTTP/2", async () => {
    const h1 = await listen(restServer(Promise.resolve()));
    const h2 = await listen(
      http2.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          res.writeHead(201, { "content-type": "application/json", "x-seen": String(req.headers["x-token"]) });
          res.end(JSON.stringify({ method: req.method, path: req.url, body: Buffer.concat(chunks).toString() }));
        });
      }),
    );
    const one = connection({ address: h1, httpVersion: "1.1" });
    const res = await one.exchange({
      method: "POST",
      url: `http://${h1}/runs?limit=2`,
      // Hop-by-hop headers and content-length are the pool's own; names may come in any case.
      headers: { "X-Token": "t-1", connection: "close", "content-length": "999" },
      body: '{"a":1}',
    });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(new TextDecoder().decode(res.body))).toEqual({
      method: "POST",
      path: "/runs?limit=2",
      body: '{"a":1}',
      token: "t-1",
      length: "7",
    });
    const two = connection({ address: h2, httpVersion: "2" });
    const res2 = await two.exchange({
      method: "PUT",
      url: `http://${h2}/x`,
      headers: { "x-token": "t-2" },
      body: "hi",
    });
    expect(res2).toMatchObject({ status: 201, headers: { "x-seen": "t-2" } });
    expect(JSON.parse(new TextDecoder().decode(res2.body))).toEqual({ method: "PUT", path: "/x", body: "hi" });
  });

  it("exchange fails like fetch: the signal's reason when aborted, fetch failed when the connection drops", async () => {
    const address = await listen(restServer(Promise.resolve()));
    const conn = connection({ address, httpVersion: "1.1" });
    const controller = new AbortController();
    const pending = conn.exchange({
      method: "GET",
      url: `http://${address}/never`,
      headers: {},
      signal: controller.signal,
    });
    setImmediate(() => controller.abort(new Error("given up")));
    await expect(pending).rejects.toThrow("given up");
    const dropper = await listen(
      http.createServer((_req, res) => {
        res.writeHead(200, { "content-type": "application/json", "content-length": "100" });
        res.write('{"cut":');
        setImmediate(() => res.socket?.destroy());
      }),
    );
    const cut = connection({ address: dropper, httpVersion: "1.1" });
    const err = (await cut
      .exchange({ method: "GET", url: `http://${dropper}/x`, headers: {} })
      .catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(TypeError);
    expect(err.message).toBe("fetch failed");
    expect(err.cause).toBeInstanceOf(Error);
  });
});
