// Idempotency-Keys are remembered for a while and up to a number, not forever: memory stays
// bounded, and an expired key is a fresh key (on the server's injected clock).
import { ConflictError, InvalidArgumentError, PortariumClient } from "@baton/portarium";
import { ManualClock } from "@baton/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errOf, startPortarium, type TestServer, workflowBody } from "./support.js";

const client = (t: TestServer): PortariumClient =>
  new PortariumClient({
    address: t.address,
    clientCredentials: { clientId: "demo", clientSecret: "s3cret" },
    workspaceId: "ws-a",
  });

/** A run waiting on a fresh approval. */
async function pendingApproval(portarium: PortariumClient) {
  const wf = await portarium.workflows.create(workflowBody());
  const run = await portarium.runs.start({ workflowId: wf.workflowId });
  return portarium.approvals.create({ runId: run.runId, planId: "plan-1", prompt: "Ship it?" });
}

describe("Idempotency-Key expiry", () => {
  const ttlMs = 2000;
  // The server's time moves by hand: a key expires when the test says, not after a wait.
  const clock = new ManualClock();
  let t: TestServer;
  let portarium: PortariumClient;
  beforeAll(async () => {
    t = await startPortarium({ "portarium.idempotencyTtlMs": String(ttlMs) }, undefined, clock);
    portarium = client(t);
  });
  afterAll(async () => {
    await portarium.close();
    await t.server.close();
  });

  it("refuses a key reused with another request until it expires, then takes it as new", async () => {
    const a = await pendingApproval(portarium);
    const b = await pendingApproval(portarium);
    const first = await portarium.approvals.decide(
      a.approvalId,
      { decision: "Approved", rationale: "ok" },
      { idempotencyKey: "k" },
    );
    expect(first.status).toBe("Approved");
    const reuse = () =>
      portarium.approvals.decide(b.approvalId, { decision: "Denied", rationale: "no" }, { idempotencyKey: "k" });
    const early = await errOf(reuse());
    expect(early).toBeInstanceOf(InvalidArgumentError);
    expect(early).toMatchObject({ status: 422 });
    // Refused requests change nothing: b is still pending.
    expect((await portarium.approvals.get(b.approvalId)).status).toBe("Pending");
    // Just before its lifetime ends the key is still remembered...
    clock.advance(ttlMs - 1);
    await expect(reuse()).rejects.toMatchObject({ status: 422 });
    // ...and at its end it is forgotten: the same key now decides b.
    clock.advance(1);
    const later = await reuse();
    expect(later).toMatchObject({ approvalId: b.approvalId, status: "Denied" });
    // And the key now answers for its new request.
    expect(await reuse()).toEqual(later);
  });
});

describe("Idempotency-Key bound", () => {
  let t: TestServer;
  let portarium: PortariumClient;
  beforeAll(async () => {
    t = await startPortarium({ "portarium.idempotencyMaxEntries": "2" });
    portarium = client(t);
  });
  afterAll(async () => {
    await portarium.close();
    await t.server.close();
  });

  const cancel = (runId: string, key: string) =>
    portarium.raw.POST("/v1/workspaces/{workspaceId}/runs/{runId}/cancel", {
      params: { path: { workspaceId: "ws-a", runId } },
      headers: { "idempotency-key": key },
    });

  it("keeps only the newest keys, forgetting the oldest first", async () => {
    const wf = await portarium.workflows.create(workflowBody());
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push((await portarium.runs.start({ workflowId: wf.workflowId })).runId);
    const [r1, r2, r3] = runs as [string, string, string];
    for (const [runId, key] of [
      [r1, "k1"],
      [r2, "k2"],
      [r3, "k3"],
    ] as const) {
      const res = await cancel(runId, key);
      expect(res.response.status).toBe(200);
      expect(res.response.headers.get("idempotent-replayed")).toBeNull();
    }
    expect(t.module.idempotency.size).toBe(2);
    // k3 is remembered: its answer is replayed although the run is now Cancelled.
    const replayed = await cancel(r3, "k3");
    expect(replayed.response.status).toBe(200);
    expect(replayed.response.headers.get("idempotent-replayed")).toBe("true");
    expect(replayed.data).toMatchObject({ runId: r3, status: "Cancelled" });
    // k1 was forgotten: the request runs again and meets the cancelled run.
    await expect(portarium.runs.cancel(r1, { idempotencyKey: "k1" })).rejects.toBeInstanceOf(ConflictError);
    expect(t.module.idempotency.size).toBe(2);
    // Many more keys never grow the memory past the bound.
    for (let i = 0; i < 20; i++) await cancel(r2, `many-${i}`);
    expect(t.module.idempotency.size).toBe(2);
  });
});
