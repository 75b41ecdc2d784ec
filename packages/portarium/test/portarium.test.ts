import type { Connection } from "@baton/core";
import {
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  PortariumClient,
  throwOnProblem,
  UnauthenticatedError,
} from "@baton/portarium";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  errOf,
  type Recorded,
  recordingConnection,
  recordingFetch,
  startPortarium,
  type TestServer,
  workflowBody,
} from "./support.js";

// The resources' JSON calls go over the connection's exchange (no web Request/Response)
// unless a custom fetch or middleware needs web objects: both paths run the whole suite.
const transports = [
  { name: "HTTP/1.1", httpVersion: "1.1" as const, customFetch: false },
  { name: "HTTP/2", httpVersion: "2" as const, customFetch: false },
  { name: "HTTP/1.1 with a custom fetch (openapi-fetch's path)", httpVersion: "1.1" as const, customFetch: true },
];

describe.each(transports)("Portarium over $name", ({ httpVersion, customFetch }) => {
  let t: TestServer;
  let portarium: PortariumClient;
  let records: Recorded[];
  let connection: Connection | undefined;

  beforeAll(async () => {
    t = await startPortarium({ "portarium.connectionTestAllow": "127.0.0.1" });
    const options = {
      clientCredentials: { clientId: "demo", clientSecret: "s3cret" },
      workspaceId: "ws-a",
    };
    if (customFetch) {
      // The connection's own fetch, recorded on the way.
      const rec = recordingFetch((r) => portarium.connection.fetch(r));
      records = rec.records;
      portarium = new PortariumClient({ address: t.address, httpVersion, ...options, fetch: rec.fetch });
    } else {
      // The connection records its fetch and its exchange.
      const rec = recordingConnection(t.address, httpVersion);
      records = rec.records;
      connection = rec.connection;
      portarium = new PortariumClient({ ...options, connection });
    }
  });
  afterAll(async () => {
    await portarium.close();
    await connection?.close();
    // Every response the client saw conforms to the OpenAPI document.
    const problems: string[] = [];
    const exercised = new Set<string>();
    for (const r of records) {
      const match = t.module.router.match(r.method, r.path);
      if (match.kind !== "operation") {
        problems.push(`${r.method} ${r.path}: no operation`);
        continue;
      }
      exercised.add(match.op.operationId);
      // The client's requests are what the real control plane expects: bearer auth and
      // bodies that match the document (400s are the tests' deliberate bad requests).
      if (match.op.secured && !/^Bearer \S+$/.test(r.requestHeaders.get("authorization") ?? "")) {
        problems.push(`${match.op.operationId}: request without a bearer token`);
      }
      if (match.op.bodyPointer && r.status !== 400) {
        const errors: Record<string, string[]> = {};
        t.module.router.check(match.op.bodyPointer, r.requestBody, "", errors);
        if (Object.keys(errors).length > 0) problems.push(`${match.op.operationId} request: ${JSON.stringify(errors)}`);
        if (r.requestHeaders.get("content-type") !== "application/json")
          problems.push(`${match.op.operationId}: content-type`);
      }
      const issues = t.module.router.validateResponse(match.op.operationId, r.status, r.contentType, r.body);
      for (const i of issues) problems.push(`${match.op.operationId} ${r.status}: ${i}`);
    }
    await t.server.close();
    expect(problems).toEqual([]);
    // ...and the suite exercised every operation of the document.
    expect([...exercised].sort()).toEqual(t.module.router.operations.map((o) => o.operationId).sort());
  });

  it("workspaces: list shows the token's workspace, get works, other workspace is 403", async () => {
    const page = await portarium.workspaces.list();
    expect(page.items.map((w) => w.workspaceId)).toEqual(["ws-a"]);
    expect((await portarium.workspaces.get()).workspaceId).toBe("ws-a");
    // demo may use ws-b: the client fetches a second token scoped to ws-b.
    expect((await portarium.workspaces.get("ws-b")).workspaceId).toBe("ws-b");
  });

  it("workflows: create, get, list, update, archive; runs of archived workflows are refused", async () => {
    const wf = await portarium.workflows.create(workflowBody("HumanApprove", "wf-crud"));
    expect(wf).toMatchObject({ schemaVersion: 1, version: 1, active: true, workspaceId: "ws-a" });
    expect(await portarium.workflows.get(wf.workflowId)).toEqual(wf);
    const updated = await portarium.workflows.update(wf.workflowId, { description: "updated" });
    expect(updated).toMatchObject({ version: 2, description: "updated" });
    const all = await portarium.workflows.list().toArray();
    expect(all.map((w) => w.workflowId)).toContain(wf.workflowId);
    await portarium.workflows.archive(wf.workflowId);
    expect((await portarium.workflows.get(wf.workflowId)).active).toBe(false);
    await expect(portarium.runs.start({ workflowId: wf.workflowId })).rejects.toBeInstanceOf(ConflictError);
    await expect(portarium.workflows.get("wf-missing")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("runs: start needs an existing workflow; Auto workflows succeed at once", async () => {
    const err = await portarium.runs.start({ workflowId: "wf-nope" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err).toMatchObject({ status: 404, title: "Not Found" });
    const wf = await portarium.workflows.create(workflowBody("Auto"));
    const run = await portarium.runs.start({ workflowId: wf.workflowId, parameters: { invoiceId: "inv-123" } });
    expect(run).toMatchObject({ status: "Succeeded", workflowId: wf.workflowId, initiatedByUserId: "demo" });
    expect(Date.parse(run.endedAtIso ?? "")).toBeGreaterThanOrEqual(Date.parse(run.createdAtIso));
    expect(await portarium.runs.get(run.runId)).toEqual(run);
    await expect(portarium.runs.cancel(run.runId)).rejects.toBeInstanceOf(ConflictError);
  });

  it("runs: pause/resume, cancel, and 409 on a finished run", async () => {
    const wf = await portarium.workflows.create(workflowBody());
    const run = await portarium.runs.start({ workflowId: wf.workflowId });
    expect(run.status).toBe("Running");
    const paused = await portarium.runs.intervene(run.runId, {
      interventionType: "pause",
      rationale: "checking invoice",
    });
    expect(paused.status).toBe("Paused");
    await expect(
      portarium.runs.intervene(run.runId, { interventionType: "pause", rationale: "again please" }),
    ).rejects.toBeInstanceOf(ConflictError);
    const resumed = await portarium.runs.intervene(run.runId, {
      interventionType: "resume",
      rationale: "looks fine now",
    });
    expect(resumed.status).toBe("Running");
    const handed = await portarium.runs.intervene(run.runId, {
      interventionType: "handoff",
      rationale: "operator takes over",
      target: "op-7",
    });
    expect(handed).toMatchObject({ controlState: "operator-owned", operatorOwnerId: "op-7" });
    const cancelled = await portarium.runs.cancel(run.runId);
    expect(cancelled.status).toBe("Cancelled");
    const again = await portarium.runs.cancel(run.runId).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ConflictError);
    expect(again).toMatchObject({ status: 409 });
    await expect(portarium.runs.get("run-missing")).rejects.toBeInstanceOf(NotFoundError);
    const evidence = await portarium.runs.evidence(run.runId).toArray();
    expect(evidence.map((e) => e.summary)).toEqual([
      expect.stringContaining("run started"),
      expect.stringContaining("intervention pause"),
      expect.stringContaining("intervention resume"),
      expect.stringContaining("intervention handoff"),
      "run cancelled",
    ]);
  });

  it("validation: 400 problem+json with a per-field errors map, unknown properties refused", async () => {
    const err = (await errOf(
      portarium.runs.start({ workflowId: "", extra: true } as unknown as { workflowId: string }),
    )) as InvalidArgumentError;
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.status).toBe(400);
    expect(err.errors).toEqual({
      "/workflowId": ["must NOT have fewer than 1 characters"],
      "/extra": ["is not a known property"],
    });
    const bad = (await errOf(portarium.runs.list({ limit: 500 }))) as InvalidArgumentError;
    expect(bad.errors).toEqual({ "query.limit": ["must be <= 200"] });
    const cursor = (await errOf(portarium.runs.list({ cursor: "garbage" }))) as InvalidArgumentError;
    expect(cursor.errors).toHaveProperty(["query.cursor"]);
    const intervention = (await errOf(
      portarium.runs.intervene("run-x", { interventionType: "explode" as "pause", rationale: "short" }),
    )) as InvalidArgumentError;
    expect(Object.keys(intervention.errors ?? {}).sort()).toEqual(["/interventionType", "/rationale"]);
  });

  it("approvals: create gates the run, decide once, a second decision is 409", async () => {
    const wf = await portarium.workflows.create(workflowBody());
    const run = await portarium.runs.start({ workflowId: wf.workflowId });
    const approval = await portarium.approvals.create({
      runId: run.runId,
      planId: "plan-1",
      prompt: "Pay invoice 123?",
    });
    expect(approval).toMatchObject({ status: "Pending", requestedByUserId: "demo", runId: run.runId });
    expect((await portarium.runs.get(run.runId)).status).toBe("WaitingForApproval");
    expect(await portarium.approvals.get(approval.approvalId)).toEqual(approval);
    expect((await portarium.approvals.list().toArray()).map((a) => a.approvalId)).toContain(approval.approvalId);
    const decided = await portarium.approvals.decide(approval.approvalId, { decision: "Approved", rationale: "ok" });
    expect(decided).toMatchObject({ status: "Approved", decidedByUserId: "demo", rationale: "ok" });
    expect((await portarium.runs.get(run.runId)).status).toBe("Succeeded");
    await expect(
      portarium.approvals.decide(approval.approvalId, { decision: "Denied", rationale: "changed my mind" }),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(
      portarium.approvals.create({ runId: run.runId, planId: "plan-1", prompt: "again?" }),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(
      portarium.approvals.create({ runId: "run-none", planId: "plan-1", prompt: "?" }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it("approvals: Denied fails the run; idempotent decide replays, another body is refused", async () => {
    const wf = await portarium.workflows.create(workflowBody());
    const run = await portarium.runs.start({ workflowId: wf.workflowId });
    const approval = await portarium.approvals.create({ runId: run.runId, planId: "plan-2", prompt: "Ship it?" });
    const body = { decision: "Denied" as const, rationale: "too risky" };
    const first = await portarium.approvals.decide(approval.approvalId, body, { idempotencyKey: "key-1" });
    const replay = await portarium.approvals.decide(approval.approvalId, body, { idempotencyKey: "key-1" });
    expect(replay).toEqual(first);
    const last = records.at(-1);
    expect(last?.requestHeaders.get("idempotency-key")).toBe("key-1");
    const other = await portarium.approvals
      .decide(approval.approvalId, { decision: "Approved", rationale: "fine" }, { idempotencyKey: "key-1" })
      .catch((e: unknown) => e);
    expect(other).toBeInstanceOf(InvalidArgumentError);
    expect(other).toMatchObject({ status: 422 });
    expect((await portarium.runs.get(run.runId)).status).toBe("Failed");
  });

  it("agent actions: execute needs an Approved approval, replays with the same key", async () => {
    const wf = await portarium.workflows.create(workflowBody());
    const run = await portarium.runs.start({ workflowId: wf.workflowId });
    const approval = await portarium.approvals.create({ runId: run.runId, planId: "plan-3", prompt: "Run agent?" });
    await expect(portarium.agentActions.execute(approval.approvalId, { flowRef: "flow-1" })).rejects.toBeInstanceOf(
      ConflictError,
    );
    await portarium.approvals.decide(approval.approvalId, { decision: "Approved", rationale: "go" });
    const exec = await portarium.agentActions.execute(
      approval.approvalId,
      { flowRef: "flow-1", payload: { a: 1 } },
      { idempotencyKey: "exec-1" },
    );
    expect(exec).toMatchObject({ approvalId: approval.approvalId, status: "Executed" });
    const replay = await portarium.agentActions.execute(
      approval.approvalId,
      { flowRef: "flow-1", payload: { a: 1 } },
      { idempotencyKey: "exec-1" },
    );
    expect(replay).toEqual(exec);
    expect((await portarium.approvals.get(approval.approvalId)).status).toBe("Executed");
    await expect(
      portarium.agentActions.execute(approval.approvalId, { flowRef: "flow-1" }, { idempotencyKey: "exec-2" }),
    ).rejects.toBeInstanceOf(ConflictError);
  });

  it("machines: register, list, get, test, invoke, stream, deregister", async () => {
    const m = await portarium.machines.register({ hostname: "build-01", osImage: "ubuntu-24.04" });
    expect(m).toMatchObject({ hostname: "build-01", status: "Online", workspaceId: "ws-a" });
    expect(await portarium.machines.get(m.machineId)).toMatchObject({ machineId: m.machineId });
    expect((await portarium.machines.list().toArray()).map((x) => x.machineId)).toContain(m.machineId);
    expect(await portarium.machines.test(m.machineId)).toMatchObject({ status: "ok" });
    const inv = await portarium.machines.invoke(m.machineId, { action: "compile", input: { target: "x" } });
    expect(inv.status).toBe("accepted");
    const events = [];
    for await (const e of portarium.machines.streamInvocation(m.machineId, inv.invocationId)) events.push(e.status);
    expect(events).toEqual(["accepted", "running", "running", "running", "completed"]);
    expect((await portarium.machines.getInvocation(m.machineId, inv.invocationId)).status).toBe("completed");
    const next = await portarium.machines.invoke(m.machineId, { action: "test" });
    expect(await portarium.machines.waitForInvocation(m.machineId, next.invocationId)).toMatchObject({
      invocationId: next.invocationId,
      status: "completed",
    });
    await portarium.machines.deregister(m.machineId);
    await expect(portarium.machines.get(m.machineId)).rejects.toBeInstanceOf(NotFoundError);
    await expect(portarium.machines.deregister(m.machineId)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("agents: register, list, get, update, test", async () => {
    const a = await portarium.agents.register({
      name: "classifier",
      endpoint: "https://agents.example.com/classify",
      allowedCapabilities: ["classify"],
    });
    expect(a).toMatchObject({ name: "classifier", allowedCapabilities: ["classify"] });
    expect(await portarium.agents.get(a.agentId)).toEqual(a);
    expect((await portarium.agents.list().toArray()).map((x) => x.agentId)).toContain(a.agentId);
    const u = await portarium.agents.update(a.agentId, { name: "classifier-v2" });
    expect(u).toMatchObject({ agentId: a.agentId, name: "classifier-v2" });
    // The server really connects: to itself (reachable) and to a closed port (unreachable).
    const self = await portarium.agents.register({ name: "self", endpoint: `${t.address}/agent` });
    expect(await portarium.agents.test(self.agentId)).toMatchObject({ status: "ok" });
    // An address the operator did not list (this server allows 127.0.0.1 only) is not dialled.
    const lan = await portarium.agents.register({ name: "lan", endpoint: "http://10.1.2.3:8080/agent" });
    const refused = await portarium.agents.test(lan.agentId).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(PermissionDeniedError);
    expect((refused as PermissionDeniedError).message).toContain("http://10.1.2.3:8080/agent was not dialled");
    const closed = await portarium.agents.register({ name: "gone", endpoint: "http://127.0.0.1:1/agent" });
    expect(await portarium.agents.test(closed.agentId)).toMatchObject({ status: "unreachable" });
    await expect(portarium.agents.register({ name: "x", endpoint: "not a uri" })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it("evidence: the workspace log is a hash chain that verifies end to end", async () => {
    const all = await portarium.evidence.list({ limit: 3 }).toArray();
    expect(all.length).toBeGreaterThan(10);
    const verdict = await portarium.evidence.verifyChain();
    expect(verdict).toEqual({ entries: all.length, problem: undefined });
    expect(all[0]?.previousHash).toBeUndefined();
    for (let i = 1; i < all.length; i++) expect(all[i]?.previousHash).toBe(all[i - 1]?.hashSha256);
    const approvals = await portarium.evidence.list({ category: "Approval" }).toArray();
    expect(approvals.length).toBeGreaterThan(0);
    expect(approvals.every((e) => e.category === "Approval")).toBe(true);
    // Tampering is detected.
    const { verifyEvidenceChain } = await import("@baton/portarium");
    const tampered = all.map((e, i) => (i === 2 ? { ...e, summary: "forged" } : e));
    expect(verifyEvidenceChain(tampered)?.index).toBe(2);
  });

  it("per-call options: no deadline at 0, abort signal, headers, workspace override", async () => {
    // 0 is no deadline, as for every Baton client (not "expire at once").
    expect((await portarium.runs.list({ timeoutMs: 0 })).items.length).toBeGreaterThan(0);
    const ctrl = new AbortController();
    ctrl.abort();
    await expect(portarium.runs.list({ signal: ctrl.signal })).rejects.toMatchObject({ name: "CanceledError" });
    // A caller's request id becomes the call's correlation id.
    await portarium.workspaces.get(undefined, { headers: { "x-request-id": "req-abc" } });
    expect(records.at(-1)?.requestHeaders.get("x-request-id")).toBe("req-abc");
    expect(records.at(-1)?.requestHeaders.get("x-correlation-id")).toBe("req-abc");
    const wsB = await portarium.runs.list({ workspaceId: "ws-b" });
    expect(wsB.items).toEqual([]);
    const viaB = portarium.withWorkspace("ws-b");
    expect((await viaB.workspaces.get()).workspaceId).toBe("ws-b");
    expect((await viaB.runs.list()).items).toEqual([]);
  });

  it("handles: getHandle makes no call; the handle reads, intervenes, cancels and lists evidence", async () => {
    const wf = await portarium.workflows.create(workflowBody());
    const started = await portarium.runs.start({ workflowId: wf.workflowId });
    const before = records.length;
    const run = portarium.runs.getHandle(started.runId);
    expect(run).toMatchObject({ id: started.runId, workspaceId: "ws-a" });
    expect(records.length).toBe(before);
    expect(await run.get()).toEqual(started);
    expect((await run.intervene({ interventionType: "pause", rationale: "checking it" })).status).toBe("Paused");
    expect((await run.cancel()).status).toBe("Cancelled");
    expect((await run.evidence().toArray()).map((e) => e.summary).at(-1)).toBe("run cancelled");
    // A handle bound to another workspace calls there.
    const elsewhere = portarium.runs.getHandle(started.runId, { workspaceId: "ws-b" });
    await expect(elsewhere.get()).rejects.toBeInstanceOf(NotFoundError);
    expect(records.at(-1)?.path).toBe(`/v1/workspaces/ws-b/runs/${started.runId}`);
  });
});

describe("Portarium auth and scoping", () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startPortarium();
  });
  afterAll(() => t.server.close());

  it("no, invalid or expired token is 401 with WWW-Authenticate", async () => {
    for (const token of [undefined, "not-a-jwt", `${await t.module.signToken({ sub: "demo", workspace: "ws-a" })}x`]) {
      const p = new PortariumClient({ address: t.address, workspaceId: "ws-a", ...(token ? { token } : {}) });
      const err = (await errOf(p.runs.list())) as UnauthenticatedError;
      expect(err).toBeInstanceOf(UnauthenticatedError);
      expect(err.status).toBe(401);
      expect(err.metadata.get("www-authenticate")).toMatch(/^Bearer/);
      expect(err.metadata.get("content-type")).toBe("application/problem+json");
    }
    const expired = await t.module.signToken({
      sub: "demo",
      workspace: "ws-a",
      exp: Math.floor(Date.now() / 1000) - 1,
    });
    const p = new PortariumClient({ address: t.address, workspaceId: "ws-a", token: expired });
    await expect(p.runs.list()).rejects.toMatchObject({ status: 401, detail: "invalid token: token expired" });
  });

  it("raw keeps { data, error }; throwOnProblem makes it throw Baton errors", async () => {
    const token = await t.module.signToken({ sub: "demo", workspace: "ws-a" });
    const p = new PortariumClient({ address: t.address, workspaceId: "ws-a", token });
    const path = { workspaceId: "ws-a", runId: "run-missing" };
    const { error, response } = await p.raw.GET("/v1/workspaces/{workspaceId}/runs/{runId}", { params: { path } });
    expect(response.status).toBe(404);
    expect(error).toMatchObject({ status: 404, title: "Not Found" });
    p.raw.use(throwOnProblem);
    const err = await p.raw
      .GET("/v1/workspaces/{workspaceId}/runs/{runId}", {
        params: { path },
        headers: { "x-correlation-id": "corr-404" },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as NotFoundError).requestId).toBe("corr-404");
  });

  it("a token for workspace A on workspace B is 403", async () => {
    const token = await t.module.signToken({ sub: "demo", workspace: "ws-a" });
    const p = new PortariumClient({ address: t.address, workspaceId: "ws-b", token });
    const err = await errOf(p.runs.list());
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect(err).toMatchObject({ status: 403 });
  });

  it("token endpoint: wrong secret 401, workspace not allowed 403, bad body 400", async () => {
    const wrong = new PortariumClient({
      address: t.address,
      workspaceId: "ws-a",
      clientCredentials: { clientId: "demo", clientSecret: "nope" },
    });
    await expect(wrong.runs.list()).rejects.toBeInstanceOf(UnauthenticatedError);
    const notAllowed = new PortariumClient({
      address: t.address,
      workspaceId: "ws-a",
      clientCredentials: { clientId: "other", clientSecret: "pw" },
    });
    await expect(notAllowed.runs.list()).rejects.toBeInstanceOf(PermissionDeniedError);
    const anon = new PortariumClient({ address: t.address });
    const { data, error, response } = await anon.raw.POST("/v1/auth/token", {
      body: { clientId: "other", clientSecret: "pw", workspaceId: "ws-b", extra: 1 } as never,
    });
    expect(data).toBeUndefined();
    expect(response.status).toBe(400);
    expect(error).toMatchObject({ status: 400, errors: { "/extra": ["is not a known property"] } });
  });

  it("problem+json for unknown routes (404), wrong methods (405), bad JSON, non-JSON (415), big bodies (413)", async () => {
    const token = await t.module.signToken({ sub: "demo", workspace: "ws-a" });
    const auth = { authorization: `Bearer ${token}` };
    const r404 = await fetch(`${t.address}/v1/nothing`, { headers: auth });
    expect(r404.status).toBe(404);
    expect(r404.headers.get("content-type")).toBe("application/problem+json");
    const r405 = await fetch(`${t.address}/v1/workspaces/ws-a/runs`, { method: "PUT", headers: auth });
    expect(r405.status).toBe(405);
    expect(r405.headers.get("allow")).toBe("GET, POST");
    const bad = await fetch(`${t.address}/v1/workspaces/ws-a/runs`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: "{nope",
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ status: 400, title: "Bad Request" });
    const text = await fetch(`${t.address}/v1/workspaces/ws-a/runs`, {
      method: "POST",
      headers: { ...auth, "content-type": "text/plain" },
      body: "hi",
    });
    expect(text.status).toBe(415);
    const big = await fetch(`${t.address}/v1/workspaces/ws-a/runs`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({ workflowId: "x", parameters: { blob: "x".repeat(2 * 1024 * 1024) } }),
    });
    expect(big.status).toBe(413);
  });
});
