import { ConflictError, InvalidArgumentError, UnavailableError } from "@baton/core";
import { createPortariumClient, type Run } from "@baton/portarium";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordingFetch, startPortarium, type TestServer, workflowBody } from "./support.js";

describe("Portarium pagination, token refresh and retries", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startPortarium({ "portarium.tokenTtlSeconds": "2" });
  });
  afterAll(() => t.server.close());

  const client = (fetchImpl?: (r: Request) => Promise<Response>, workspaceId = "ws-a") =>
    createPortariumClient({
      baseUrl: t.baseUrl,
      clientCredentials: { clientId: "demo", clientSecret: "s3cret" },
      workspaceId,
      retry: { initialBackoffMs: 5, maxBackoffMs: 20 },
      ...(fetchImpl ? { fetch: fetchImpl } : {}),
    });

  it("for await follows nextCursor through every page; pages() and explicit cursors work", async () => {
    const p = client(undefined, "ws-b");
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

  it("client credentials: one token fetch for concurrent calls, cached, refreshed before expiry", async () => {
    const rec = recordingFetch();
    const p = client(rec.fetch);
    await Promise.all([p.runs.list(), p.workflows.list(), p.approvals.list()]);
    const tokenCalls = () => rec.records.filter((r) => r.path === "/v1/auth/token").length;
    expect(tokenCalls()).toBe(1);
    await p.runs.list();
    expect(tokenCalls()).toBe(1);
    // 2 s tokens are refreshed 10% early: after 1.9 s the next call fetches a new one.
    await new Promise((r) => setTimeout(r, 1900));
    await p.runs.list();
    expect(tokenCalls()).toBe(2);
    // Past the old token's expiry the client still works without a single 401.
    await new Promise((r) => setTimeout(r, 300));
    await p.runs.list();
    expect(rec.records.filter((r) => r.status === 401)).toEqual([]);
  });

  it("a 401 makes the client fetch a new token and retry once", async () => {
    const rec = recordingFetch();
    let corrupt = true;
    const p = client(async (req) => {
      if (corrupt && req.headers.has("authorization")) {
        corrupt = false;
        req.headers.set("authorization", "Bearer revoked.token.value");
      }
      return rec.fetch(req);
    });
    const page = await p.runs.list();
    expect(page.items).toBeDefined();
    expect(rec.records.map((r) => `${r.path} ${r.status}`)).toEqual([
      "/v1/auth/token 200",
      "/v1/workspaces/ws-a/runs 401",
      "/v1/auth/token 200",
      "/v1/workspaces/ws-a/runs 200",
    ]);
    // A token provider is asked again with forceRefresh.
    const asked: boolean[] = [];
    const good = t.module.signToken({ sub: "demo", workspace: "ws-a" });
    const viaProvider = createPortariumClient({
      baseUrl: t.baseUrl,
      workspaceId: "ws-a",
      tokenProvider: ({ forceRefresh }) => {
        asked.push(forceRefresh);
        return forceRefresh ? good : "stale";
      },
    });
    await viaProvider.runs.list();
    expect(asked).toEqual([false, true]);
  });

  /** A fetch that answers `failures` times with `status` before passing requests through. */
  function flaky(failures: number, status: number, retryAfter?: string) {
    const attempts: { method: string; key: string | null; at: number }[] = [];
    let left = failures;
    const impl = async (req: Request) => {
      attempts.push({ method: req.method, key: req.headers.get("idempotency-key"), at: Date.now() });
      if (req.url.endsWith("/v1/auth/token")) return fetch(req);
      if (left-- > 0) {
        return new Response(JSON.stringify({ type: "about:blank", title: "Service Unavailable", status }), {
          status,
          headers: { "content-type": "application/problem+json", ...(retryAfter ? { "retry-after": retryAfter } : {}) },
        });
      }
      return fetch(req);
    };
    return { impl, attempts: () => attempts };
  }

  it("retries GETs on 503, honouring Retry-After", async () => {
    const f = flaky(1, 503, "1");
    const p = client(f.impl);
    const started = Date.now();
    await p.runs.list();
    const runCalls = f.attempts().filter((a) => a.method === "GET");
    expect(runCalls).toHaveLength(2);
    expect((runCalls[1]?.at ?? 0) - (runCalls[0]?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it("retries POSTs only with an Idempotency-Key, sending the same key each time", async () => {
    const setup = client();
    const wf = await setup.workflows.create(workflowBody());
    const run = await setup.runs.start({ workflowId: wf.workflowId });
    const approval = await setup.approvals.create({ runId: run.runId, planId: "p", prompt: "ok?" });

    const noKey = flaky(1, 503);
    await expect(client(noKey.impl).runs.start({ workflowId: wf.workflowId })).rejects.toBeInstanceOf(UnavailableError);
    expect(noKey.attempts().filter((a) => a.method === "POST" && !a.key)).toHaveLength(2); // token + one try

    const keyed = flaky(2, 503);
    const decided = await client(keyed.impl).approvals.decide(approval.approvalId, {
      decision: "Approved",
      rationale: "fine",
    });
    expect(decided.status).toBe("Approved");
    const tries = keyed.attempts().filter((a) => a.key !== null);
    expect(tries).toHaveLength(3);
    expect(new Set(tries.map((a) => a.key)).size).toBe(1);

    const giveUp = flaky(10, 503);
    const err = await client(giveUp.impl)
      .runs.get(run.runId)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(giveUp.attempts().filter((a) => a.method === "GET")).toHaveLength(4);
  });

  it("a decide replayed after a lost response answers the first decision, not a 409", async () => {
    const setup = client();
    const wf = await setup.workflows.create(workflowBody());
    const run = await setup.runs.start({ workflowId: wf.workflowId });
    const approval = await setup.approvals.create({ runId: run.runId, planId: "p", prompt: "ok?" });
    let lose = true;
    // The server processes the first attempt but the response is lost (a 502 from a proxy).
    const p = client(async (req) => {
      const res = await fetch(req);
      if (lose && req.url.endsWith("/decide")) {
        lose = false;
        await res.body?.cancel();
        return new Response(null, { status: 502 });
      }
      return res;
    });
    const decided = await p.approvals.decide(approval.approvalId, { decision: "Approved", rationale: "ok" });
    expect(decided.status).toBe("Approved");
    // Without the key the second attempt would have been a 409.
    await expect(
      setup.approvals.decide(approval.approvalId, { decision: "Approved", rationale: "ok" }),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(setup.runs.list({ limit: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
