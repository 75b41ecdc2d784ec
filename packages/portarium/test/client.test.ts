// The one client shape: a class on BatonClient with a documented default address and
// environment variable, close(), unary-only timeoutMs (0: none), calls that reject instead
// of throwing, Unix sockets through the connection's own fetch, and a token cache on an
// injected clock.
import { BatonClient, Connection } from "@baton/core";
import {
  clientCredentialsTokenSource,
  DEFAULT_PORTARIUM_ADDRESS,
  DeadlineExceededError,
  InvalidArgumentError,
  PORTARIUM_ADDRESS_ENV,
  PortariumClient,
  ProtocolError,
  UnavailableError,
} from "@baton/portarium";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEMO,
  errOf,
  json,
  recordingFetch,
  runBody,
  startHttp,
  startPortarium,
  type TestHttpServer,
  type TestServer,
  workflowBody,
} from "./support.js";

const demo = DEMO;

describe("PortariumClient, the class", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startPortarium();
  });
  afterAll(() => t.server.close());

  it("extends BatonClient; defaults to http://127.0.0.1:8080, which PORTARIUM_URL overrides, and address overrides both", async () => {
    const saved = process.env[PORTARIUM_ADDRESS_ENV];
    try {
      expect(PORTARIUM_ADDRESS_ENV).toBe("PORTARIUM_URL");
      expect(DEFAULT_PORTARIUM_ADDRESS).toBe("http://127.0.0.1:8080");
      delete process.env.PORTARIUM_URL;
      const plain = new PortariumClient();
      expect(plain).toBeInstanceOf(BatonClient);
      expect(plain.connection.address.baseUrl).toBe("http://127.0.0.1:8080");
      await plain.close();

      process.env.PORTARIUM_URL = t.address;
      const fromEnv = new PortariumClient({ clientCredentials: demo, workspaceId: "ws-a" });
      expect(fromEnv.connection.address.baseUrl).toBe(t.address);
      expect((await fromEnv.workspaces.get()).workspaceId).toBe("ws-a");
      await fromEnv.close();

      process.env.PORTARIUM_URL = "http://127.0.0.1:1";
      const explicit = new PortariumClient({ address: t.address, clientCredentials: demo, workspaceId: "ws-a" });
      expect((await explicit.workspaces.get()).workspaceId).toBe("ws-a");
      await explicit.close();
    } finally {
      if (saved === undefined) delete process.env.PORTARIUM_URL;
      else process.env.PORTARIUM_URL = saved;
    }
  });

  it("close() closes the connection it made; withWorkspace and shared connections stay open", async () => {
    const a = new PortariumClient({ address: t.address, clientCredentials: demo, workspaceId: "ws-a" });
    const b = a.withWorkspace("ws-b");
    expect(b.connection).toBe(a.connection);
    expect(b.workspaceId).toBe("ws-b");
    await b.close();
    expect(a.connection.closed).toBe(false);
    expect((await a.workspaces.get()).workspaceId).toBe("ws-a");
    await a[Symbol.asyncDispose]();
    expect(a.connection.closed).toBe(true);

    const shared = new Connection({ address: t.address }, { httpVersion: "1.1" });
    const c = new PortariumClient({ connection: shared, clientCredentials: demo, workspaceId: "ws-a" });
    expect((await c.runs.list()).items).toEqual([]);
    await c.close();
    expect(shared.closed).toBe(false);
    await shared.close();
  });

  it("refuses token and clientCredentials together", () => {
    expect(() => new PortariumClient({ address: t.address, token: "x", clientCredentials: demo })).toThrow(
      InvalidArgumentError,
    );
  });

  it("without a workspace, calls reject (never throw) and send nothing", async () => {
    let p: PortariumClient | undefined;
    const rec = recordingFetch((r) => (p as PortariumClient).connection.fetch(r));
    const token = await t.module.signToken({ sub: "demo", workspace: "ws-a" });
    p = new PortariumClient({ address: t.address, token, fetch: rec.fetch });
    const client = p;
    const calls: Record<string, () => PromiseLike<unknown>> = {
      "runs.list": () => client.runs.list(),
      "runs.get": () => client.runs.get("run-1"),
      "runs.evidence": () => client.runs.evidence("run-1"),
      "workflows.create": () => client.workflows.create(workflowBody()),
      "machines.invoke": () => client.machines.invoke("m-1", { action: "x" }),
      "machines.deregister": () => client.machines.deregister("m-1"),
      "evidence.verifyChain": () => client.evidence.verifyChain(),
      "handle.get": () => client.runs.getHandle("run-1").get(),
      "invocation.wait": () => client.machines.getInvocationHandle("m-1", "inv-1").wait(),
      "stream.next": () => client.machines.streamInvocation("m-1", "inv-1").next(),
    };
    for (const [name, make] of Object.entries(calls)) {
      let pending: PromiseLike<unknown> | undefined;
      expect(() => {
        pending = make();
      }, name).not.toThrow();
      const err = await errOf(pending as PromiseLike<unknown>);
      expect(err, name).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message, name).toMatch(/no workspaceId/);
    }
    // Iterating a list rejects the same way.
    const iterate = async () => {
      for await (const _ of client.agents.list()) {
        // never reached
      }
    };
    await expect(iterate()).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(rec.records).toEqual([]);
    // A call that needs no workspace still works.
    expect((await client.workspaces.list()).items.map((w) => w.workspaceId)).toEqual(["ws-a"]);
    // Bad per-call options reject too.
    await expect(client.workspaces.list({ timeoutMs: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await client.close();
  });
});

describe("timeoutMs: the deadline of each unary call; 0 or unset, none", () => {
  let srv: TestHttpServer;
  beforeAll(async () => {
    srv = await startHttp((req, res) => {
      // Slower than the 100 ms deadlines below; "hang" never answers.
      if (req.path.endsWith("/slow")) setTimeout(() => json(res, 200, runBody("slow")), 400);
    });
  });
  afterAll(() => srv.close());

  it("0 and unset mean no deadline; a positive one fails the call with DeadlineExceededError", async () => {
    const none = new PortariumClient({ address: srv.address, token: "tok", workspaceId: "ws-a", timeoutMs: 0 });
    expect((await none.runs.get("slow")).runId).toBe("slow");
    const unset = new PortariumClient({ address: srv.address, token: "tok", workspaceId: "ws-a" });
    expect((await unset.runs.get("slow")).runId).toBe("slow");
    const bounded = new PortariumClient({ address: srv.address, token: "tok", workspaceId: "ws-a", timeoutMs: 100 });
    const before = srv.seen.length;
    await expect(bounded.runs.get("hang")).rejects.toBeInstanceOf(DeadlineExceededError);
    // A deadline is not a transient failure: the read was sent once.
    expect(srv.seen.length - before).toBe(1);
    // A call's own 0 lifts the client's deadline.
    expect((await bounded.runs.get("slow", { timeoutMs: 0 })).runId).toBe("slow");
    await expect(bounded.runs.get("slow", { timeoutMs: 50 })).rejects.toBeInstanceOf(DeadlineExceededError);
    for (const c of [none, unset, bounded]) await c.close();
  });

  it("bounds the wait for a token too: a silent token endpoint fails the call, it does not hang it", async () => {
    // The same server never answers /v1/auth/token.
    const before = srv.seen.length;
    const bounded = new PortariumClient({
      address: srv.address,
      clientCredentials: DEMO,
      workspaceId: "ws-a",
      timeoutMs: 100,
    });
    await expect(bounded.runs.get("slow")).rejects.toBeInstanceOf(DeadlineExceededError);
    await expect(bounded.runs.get("slow")).rejects.toBeInstanceOf(DeadlineExceededError);
    const unbounded = new PortariumClient({ address: srv.address, clientCredentials: DEMO, workspaceId: "ws-a" });
    const ctrl = new AbortController();
    const pending = unbounded.runs.get("slow", { signal: ctrl.signal });
    ctrl.abort();
    await expect(pending).rejects.toMatchObject({ name: "CanceledError" });
    // Without a token no call went out: the server saw token requests only.
    expect(new Set(srv.seen.slice(before).map((s) => s.path))).toEqual(new Set(["/v1/auth/token"]));
    await bounded.close();
    await unbounded.close();
  });
});

describe("over a Unix socket", () => {
  let t: TestServer;
  const socket = `/tmp/baton-portarium-${process.pid}.sock`;
  beforeAll(async () => {
    t = await startPortarium({ "portarium.invocationDurationMs": "50" }, `unix://${socket}`);
  });
  afterAll(() => t.server.close());

  it.each(["1.1", "2"] as const)("HTTP/%s: tokens, calls, lists and an invocation stream", async (httpVersion) => {
    expect(t.address).toBe(`unix://${socket}`);
    const p = new PortariumClient({
      address: `unix://${socket}`,
      httpVersion,
      clientCredentials: demo,
      workspaceId: "ws-a",
    });
    try {
      expect((await p.workspaces.get()).workspaceId).toBe("ws-a");
      const wf = await p.workflows.create(workflowBody("Auto"));
      const run = await p.runs.start({ workflowId: wf.workflowId });
      expect((await p.runs.list().toArray()).map((r) => r.runId)).toContain(run.runId);
      const m = await p.machines.register({ hostname: `unix-${httpVersion}` });
      const inv = await p.machines.invoke(m.machineId, { action: "ping" });
      const statuses: string[] = [];
      for await (const e of p.machines.getInvocationHandle(m.machineId, inv.invocationId).events()) {
        statuses.push(e.status);
      }
      expect(statuses).toEqual(["accepted", "running", "running", "running", "completed"]);
    } finally {
      await p.close();
    }
  });
});

describe("the client-credentials token cache, on an injected clock", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startPortarium({ "portarium.tokenTtlSeconds": "100" });
  });
  afterAll(() => t.server.close());

  it("fetches once for concurrent callers, caches until 10% before expiry, refreshes when forced", async () => {
    let now = 5_000_000;
    const rec = recordingFetch((r) => fetch(r));
    const tokens = clientCredentialsTokenSource({
      baseUrl: t.address,
      credentials: demo,
      defaultWorkspaceId: "ws-a",
      fetch: rec.fetch,
      now: () => now,
    });
    const first = await Promise.all([
      tokens.get(undefined, false),
      tokens.get("ws-a", false),
      tokens.get("ws-a", false),
    ]);
    expect(new Set(first).size).toBe(1);
    expect(tokens.issued).toBe(1);
    expect(rec.records.map((r) => (r.requestBody as { workspaceId: string }).workspaceId)).toEqual(["ws-a"]);
    // A 100 s token is refreshed 10 s early: at 89.999 s it is still cached...
    now += 89_999;
    expect(await tokens.get("ws-a", false)).toBe(first[0]);
    expect(tokens.issued).toBe(1);
    // ...at 90 s it is fetched anew.
    now += 1;
    await tokens.get("ws-a", false);
    expect(tokens.issued).toBe(2);
    await tokens.get("ws-a", true);
    expect(tokens.issued).toBe(3);
    // Each workspace has its own token.
    await tokens.get("ws-b", false);
    expect(tokens.issued).toBe(4);
    expect(rec.records.map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });

  it("a token endpoint that answers success without a token is a ProtocolError; one that is down, UnavailableError", async () => {
    const srv = await startHttp((_req, res, n) =>
      n === 0 ? json(res, 200, { tokenType: "Bearer" }) : json(res, 503, { title: "down", status: 503 }),
    );
    try {
      const tokens = clientCredentialsTokenSource({ baseUrl: srv.address, credentials: demo, fetch: (r) => fetch(r) });
      await expect(tokens.get("ws-a", false)).rejects.toBeInstanceOf(ProtocolError);
      await expect(tokens.get("ws-a", false)).rejects.toBeInstanceOf(UnavailableError);
      expect(tokens.issued).toBe(0);
    } finally {
      await srv.close();
    }
  });
});
