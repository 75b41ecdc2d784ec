// Pagination, tokens, retries and broken servers. Retries, dropped connections and
// malformed answers are driven by real node:http servers that fail on purpose, so every
// attempt the client makes is counted where it arrives.
import { Connection, isBodyInMemory, resolveRetryPolicy } from "@baton/core";
import {
  ConflictError,
  createTransport,
  InvalidArgumentError,
  PortariumClient,
  type PortariumClientOptions,
  ProtocolError,
  ResourceExhaustedError,
  type Run,
  staticTokenSource,
  UnavailableError,
} from "@baton/portarium";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  DEMO,
  demoClient,
  errOf,
  json,
  recordingFetch,
  runBody,
  type Seen,
  startHttp,
  startPortarium,
  type TestHttpServer,
  type TestServer,
  workflowBody,
} from "./support.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Backoff short enough that retries do not slow the suite. */
const FAST = { initialBackoffMs: 1, maxBackoffMs: 5 };

describe("Portarium pagination and tokens", () => {
  let t: TestServer;
  const clients: PortariumClient[] = [];
  beforeAll(async () => {
    t = await startPortarium();
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await t.server.close();
  });

  const client = (options: PortariumClientOptions = {}) => {
    const c = demoClient(t.address, { retry: FAST, ...options });
    clients.push(c);
    return c;
  };

  it("for await follows nextCursor through every page; pages() and explicit cursors work", async () => {
    const p = client({ workspaceId: "ws-b" });
    const wf = await p.workflows.create(workflowBody("Auto"));
    const started: Run[] = [];
    for (let i = 0; i < 23; i++) started.push(await p.runs.start({ workflowId: wf.workflowId }));
    const seen: string[] = [];
    for await (const run of p.runs.list({ limit: 5 })) seen.push(run.runId);
    expect(seen).toEqual(started.map((r) => r.runId));
    const sizes: number[] = [];
    for await (const page of p.runs.list({ limit: 10 }).pages()) sizes.push(page.items.length);
    expect(sizes).toEqual([10, 10, 3]);
    const first = await p.runs.list({ limit: 10 });
    expect(first.nextCursor).toBeTypeOf("string");
    const second = await p.runs.list({ limit: 10, cursor: first.nextCursor as string });
    expect(second.items[0]?.runId).toBe(started[10]?.runId);
    const last = await p.runs.list({ limit: 10, cursor: second.nextCursor as string });
    expect(last.items).toHaveLength(3);
    expect(last.nextCursor).toBeUndefined();
  });

  it("paging while runs are added never skips or repeats a run", async () => {
    const p = client();
    const wf = await p.workflows.create(workflowBody("Auto"));
    const before: string[] = [];
    for (let i = 0; i < 12; i++) before.push((await p.runs.start({ workflowId: wf.workflowId })).runId);
    const existing = new Set((await p.runs.list({ limit: 200 }).toArray()).map((r) => r.runId));
    const added: string[] = [];
    const seen: string[] = [];
    for await (const page of p.runs.list({ limit: 3 }).pages()) {
      seen.push(...page.items.map((r) => r.runId));
      // Concurrent writers insert while the reader pages.
      const batch = await Promise.all([1, 2].map(() => p.runs.start({ workflowId: wf.workflowId })));
      if (added.length < 10) added.push(...batch.map((r) => r.runId));
    }
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of existing) expect(seen).toContain(id);
    // Items added before the reader reached the end are seen too, in order.
    const all = (await p.runs.list({ limit: 200 }).toArray()).map((r) => r.runId);
    expect(seen).toEqual(all.slice(0, seen.length));
    expect(before.every((id) => seen.includes(id))).toBe(true);
  });

  it("client credentials: one token fetch for concurrent calls, then the cached token", async () => {
    let p: PortariumClient | undefined;
    const rec = recordingFetch((r) => (p as PortariumClient).connection.fetch(r));
    p = client({ fetch: rec.fetch });
    await Promise.all([p.runs.list(), p.workflows.list(), p.approvals.list()]);
    const tokenCalls = () => rec.records.filter((r) => r.path === "/v1/auth/token").length;
    expect(tokenCalls()).toBe(1);
    await p.runs.list();
    expect(tokenCalls()).toBe(1);
    // A derived client shares the cache: ws-a's token is not fetched again, ws-b's once.
    await p.withWorkspace("ws-b").runs.list();
    await p.withWorkspace("ws-b").runs.list();
    await p.withWorkspace("ws-a").runs.list();
    expect(tokenCalls()).toBe(2);
    expect(rec.records.filter((r) => r.status === 401)).toEqual([]);
  });

  it("a 401 makes the client fetch a new token and retry once; a provider is asked with forceRefresh", async () => {
    let p: PortariumClient | undefined;
    const rec = recordingFetch((r) => (p as PortariumClient).connection.fetch(r));
    let corrupt = true;
    p = client({
      fetch: async (req) => {
        if (corrupt && req.headers.has("authorization")) {
          corrupt = false;
          req.headers.set("authorization", "Bearer revoked.token.value");
        }
        return rec.fetch(req);
      },
    });
    expect((await p.workspaces.get()).workspaceId).toBe("ws-a");
    expect(rec.records.map((r) => `${r.path} ${r.status}`)).toEqual([
      "/v1/auth/token 200",
      "/v1/workspaces/ws-a 401",
      "/v1/auth/token 200",
      "/v1/workspaces/ws-a 200",
    ]);
    const asked: boolean[] = [];
    const good = await t.module.signToken({ sub: "demo", workspace: "ws-a" });
    const viaProvider = new PortariumClient({
      address: t.address,
      workspaceId: "ws-a",
      token: ({ forceRefresh }) => {
        asked.push(forceRefresh);
        return forceRefresh ? good : "stale";
      },
    });
    clients.push(viaProvider);
    expect((await viaProvider.workspaces.get()).workspaceId).toBe("ws-a");
    expect(asked).toEqual([false, true]);
    // Core's zero-argument provider shape works too.
    const plain = new PortariumClient({ address: t.address, workspaceId: "ws-a", token: () => good });
    clients.push(plain);
    expect((await plain.workspaces.get()).workspaceId).toBe("ws-a");
  });
});

describe("retries, through core's one retry loop, against a real failing server", () => {
  let srv: TestHttpServer | undefined;
  const clients: PortariumClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await srv?.close();
  });

  const client = (address: string, options: PortariumClientOptions = {}) => {
    const auth = options.clientCredentials ? {} : { token: "tok" };
    const c = new PortariumClient({ address, workspaceId: "ws-a", retry: FAST, ...auth, ...options });
    clients.push(c);
    return c;
  };
  const unavailable = (res: Parameters<typeof json>[0], n: number) =>
    json(res, 503, { type: "about:blank", title: "Service Unavailable", status: 503, detail: `attempt ${n + 1}` });

  it("retries a GET that answered 503, with the same x-correlation-id on every attempt", async () => {
    srv = await startHttp((_req, res, n) => (n === 0 ? unavailable(res, n) : json(res, 200, runBody("run-1"))));
    const got = await client(srv.address).runs.get("run-1");
    expect(got).toEqual(runBody("run-1"));
    expect(srv.seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      "GET /v1/workspaces/ws-a/runs/run-1",
      "GET /v1/workspaces/ws-a/runs/run-1",
    ]);
    const ids = srv.seen.map((s) => s.headers["x-correlation-id"]);
    expect(ids[0]).toMatch(UUID);
    expect(ids[1]).toBe(ids[0]);
    expect(srv.seen.every((s) => s.headers.authorization === "Bearer tok")).toBe(true);
  });

  it("gives up after the policy's attempts and surfaces the last response as its error", async () => {
    srv = await startHttp((_req, res, n) => unavailable(res, n));
    const err = await errOf(client(srv.address).runs.get("run-1"));
    expect(err).toBeInstanceOf(UnavailableError);
    // The default policy: 4 attempts; the error is the 4th answer, problem+json and all.
    expect(err).toMatchObject({ status: 503, title: "Service Unavailable", detail: "attempt 4" });
    expect(srv.seen).toHaveLength(4);
    await errOf(client(srv.address, { retry: { ...FAST, maxAttempts: 2 } }).runs.get("run-1"));
    expect(srv.seen).toHaveLength(6);
    await errOf(client(srv.address, { retry: false }).runs.get("run-1"));
    expect(srv.seen).toHaveLength(7);
  });

  it("retries a POST only with an Idempotency-Key, sending the same key and body every time", async () => {
    srv = await startHttp((req, res, n) => {
      if (req.path.endsWith("/decide") && n < 3) return unavailable(res, n);
      if (req.path.endsWith("/decide")) {
        return json(res, 200, {
          schemaVersion: 1,
          approvalId: "ap-1",
          workspaceId: "ws-a",
          runId: "run-1",
          planId: "plan-1",
          prompt: "ok?",
          status: "Approved",
          requestedAtIso: "2024-01-01T00:00:00.000Z",
          requestedByUserId: "demo",
        });
      }
      return unavailable(res, n);
    });
    const p = client(srv.address);
    await expect(p.runs.start({ workflowId: "wf-1" })).rejects.toBeInstanceOf(UnavailableError);
    expect(srv.seen.map((s) => `${s.method} ${s.path}`)).toEqual(["POST /v1/workspaces/ws-a/runs"]);
    const decided = await p.approvals.decide("ap-1", { decision: "Approved", rationale: "fine" });
    expect(decided.status).toBe("Approved");
    const tries = srv.seen.filter((s) => s.path.endsWith("/decide"));
    expect(tries).toHaveLength(3);
    expect(tries[0]?.headers["idempotency-key"]).toMatch(UUID);
    expect(new Set(tries.map((s) => s.headers["idempotency-key"])).size).toBe(1);
    expect(tries.map((s) => JSON.parse(s.body))).toEqual(Array(3).fill({ decision: "Approved", rationale: "fine" }));
  });

  it("waits as Retry-After says, on the injected clock; a 429 without it is not retried", async () => {
    srv = await startHttp((req, res, n) => {
      if (req.path.endsWith("/slow-down") || n > 0) return json(res, 200, runBody("run-1"));
      json(res, 429, { type: "about:blank", title: "Too Many Requests", status: 429 }, { "retry-after": "7" });
    });
    const waited: number[] = [];
    const transport = createTransport({
      fetch: (r) => fetch(r),
      tokens: staticTokenSource("tok"),
      defaultWorkspaceId: "ws-a",
      retry: resolveRetryPolicy(FAST),
      sleep: async (ms) => {
        waited.push(ms);
      },
    });
    const res = await transport(new Request(`${srv.address}/v1/workspaces/ws-a/runs/run-1`));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(runBody("run-1"));
    expect(waited).toEqual([7000]);
    expect(srv.seen).toHaveLength(2);
    await srv.close();

    srv = await startHttp((_req, res) =>
      json(res, 429, { type: "about:blank", title: "Too Many Requests", status: 429 }),
    );
    const err = await errOf(client(srv.address).runs.get("run-1"));
    expect(err).toBeInstanceOf(ResourceExhaustedError);
    expect(err).toMatchObject({ status: 429, retryable: false });
    expect(srv.seen).toHaveLength(1);
  });

  it("hands on the connection's in-memory response as it is, and copies any other fetch's", async () => {
    srv = await startHttp((_req, res) => json(res, 200, runBody("run-1")));
    const conn = new Connection({ address: srv.address }, { httpVersion: "1.1" });
    const fetched: Response[] = [];
    const options = {
      tokens: staticTokenSource("tok"),
      defaultWorkspaceId: "ws-a",
      retry: resolveRetryPolicy(FAST),
    };
    const recording = (inner: (r: Request) => Promise<Response>) => async (r: Request) => {
      const res = await inner(r);
      fetched.push(res);
      return res;
    };
    try {
      const url = `${srv.address}/v1/workspaces/ws-a/runs/run-1`;
      const own = await createTransport({ ...options, fetch: recording(conn.fetch) })(new Request(url));
      expect(isBodyInMemory(own)).toBe(true);
      expect(own).toBe(fetched[0]);
      expect(await own.json()).toEqual(runBody("run-1"));
      const other = await createTransport({ ...options, fetch: recording((r) => fetch(r)) })(new Request(url));
      expect(other).not.toBe(fetched[1]);
      expect(await other.json()).toEqual(runBody("run-1"));
    } finally {
      await conn.close();
    }
  });

  it("a connection dropped mid-response is retried for reads, not for unkeyed writes", async () => {
    const drop = (res: Parameters<typeof json>[0]) => {
      res.writeHead(200, { "content-type": "application/json", "content-length": "1000" });
      res.write('{"schemaVersion":1,"runId":');
      // Flushes the partial body, then cuts the socket.
      setTimeout(() => res.socket?.destroy(), 20);
    };
    srv = await startHttp((req, res, n) =>
      n === 0 || req.method === "POST" ? drop(res) : json(res, 200, runBody("run-1")),
    );
    const p = client(srv.address);
    expect(await p.runs.get("run-1")).toEqual(runBody("run-1"));
    expect(srv.seen).toHaveLength(2);
    const err = await errOf(p.runs.start({ workflowId: "wf-1" }));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(srv.seen.filter((s) => s.method === "POST")).toHaveLength(1);
  });

  it("a socket destroyed before any answer is retried for reads", async () => {
    srv = await startHttp((_req, res, n) => (n < 2 ? void res.socket?.destroy() : json(res, 200, runBody("run-1"))));
    expect(await client(srv.address).runs.get("run-1")).toEqual(runBody("run-1"));
    expect(srv.seen).toHaveLength(3);
  });

  it("a decide whose response a proxy lost is replayed by its key, answering the first decision", async () => {
    const t = await startPortarium();
    try {
      const setup = client(t.address, { clientCredentials: DEMO });
      const wf = await setup.workflows.create(workflowBody());
      const started = await setup.runs.start({ workflowId: wf.workflowId });
      const approval = await setup.approvals.create({ runId: started.runId, planId: "p", prompt: "ok?" });
      // A real proxy in front of baton-server: it forwards everything, and loses the first
      // decide's response after the server processed it.
      let lose = true;
      srv = await startHttp(async (req: Seen, res) => {
        const headers = Object.fromEntries(
          Object.entries(req.headers).filter(
            (e): e is [string, string] => typeof e[1] === "string" && !["host", "connection"].includes(e[0]),
          ),
        );
        const upstream = await fetch(`${t.address}${req.url}`, {
          method: req.method,
          headers,
          ...(req.body ? { body: req.body } : {}),
        });
        const text = await upstream.text();
        if (lose && req.path.endsWith("/decide")) {
          lose = false;
          return json(res, 502, { type: "about:blank", title: "Bad Gateway", status: 502 });
        }
        res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "text/plain" });
        res.end(text);
      });
      const viaProxy = client(srv.address, { clientCredentials: DEMO });
      const decided = await viaProxy.approvals.decide(approval.approvalId, { decision: "Approved", rationale: "ok" });
      expect(decided.status).toBe("Approved");
      expect(srv.seen.filter((s) => s.path.endsWith("/decide"))).toHaveLength(2);
      // Without the key the second attempt would have been a 409.
      await expect(
        setup.approvals.decide(approval.approvalId, { decision: "Approved", rationale: "ok" }),
      ).rejects.toBeInstanceOf(ConflictError);
      await expect(setup.runs.list({ limit: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    } finally {
      for (const c of clients.splice(0)) await c.close();
      await t.server.close();
    }
  });
});

describe("answers the client cannot use", () => {
  let srv: TestHttpServer | undefined;
  let p: PortariumClient | undefined;
  afterEach(async () => {
    await p?.close();
    await srv?.close();
  });

  it("a 200 whose body is not JSON, or is empty, is a ProtocolError, not the caller's InvalidArgumentError", async () => {
    srv = await startHttp((req, res) => {
      if (req.path.endsWith("/garbage")) {
        res.writeHead(200, { "content-type": "application/json" });
        return void res.end("<html>oops</html>");
      }
      if (req.path.endsWith("/empty")) {
        res.writeHead(200, { "content-type": "application/json", "content-length": "0" });
        return void res.end();
      }
      // Chunked, with nothing in it.
      res.writeHead(200, { "content-type": "application/json" });
      res.end();
    });
    p = new PortariumClient({ address: srv.address, token: "tok", workspaceId: "ws-a" });
    for (const id of ["garbage", "empty", "chunked"]) {
      const err = await errOf(p.runs.get(id));
      expect(err).toBeInstanceOf(ProtocolError);
      expect(err).not.toBeInstanceOf(InvalidArgumentError);
    }
    expect(await errOf(p.runs.get("garbage"))).toMatchObject({ message: expect.stringContaining("not JSON") });
    expect(await errOf(p.runs.get("empty"))).toMatchObject({ message: "the server's response has no body" });
  });

  it("errors carry the x-correlation-id the client sent and the server echoed as requestId", async () => {
    // As the real control plane does: it echoes x-correlation-id (and sends no x-request-id).
    srv = await startHttp((req, res) =>
      json(
        res,
        404,
        { type: "about:blank", title: "Not Found", status: 404 },
        { "x-correlation-id": String(req.headers["x-correlation-id"]) },
      ),
    );
    p = new PortariumClient({ address: srv.address, token: "tok", workspaceId: "ws-a" });
    const err = await errOf(p.runs.get("run-1"));
    const sent = srv.seen[0]?.headers["x-correlation-id"];
    expect(sent).toMatch(UUID);
    expect(err).toMatchObject({ name: "NotFoundError", requestId: sent });
    // Each logical call gets its own id.
    await errOf(p.runs.get("run-1"));
    expect(srv.seen[1]?.headers["x-correlation-id"]).toMatch(UUID);
    expect(srv.seen[1]?.headers["x-correlation-id"]).not.toBe(sent);
  });

  it("against baton-server too: requestId is the id the client sent", async () => {
    const t = await startPortarium();
    try {
      let sent: string | undefined;
      p = demoClient(t.address, {
        middleware: [
          {
            onRequest({ request }) {
              sent = request.headers.get("x-correlation-id") ?? undefined;
            },
          },
        ],
      });
      const err = await errOf(p.runs.get("run-missing"));
      expect(sent).toMatch(UUID);
      expect(err).toMatchObject({ name: "NotFoundError", requestId: sent });
    } finally {
      await p?.close();
      p = undefined;
      await t.server.close();
    }
  });
});
