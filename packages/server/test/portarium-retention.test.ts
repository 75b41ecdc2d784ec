// Portarium keeps a bounded number of runs and evidence entries per workspace: finished
// runs are forgotten oldest first, a workspace full of unfinished ones answers 507
// problem+json, and the evidence log keeps its newest entries. Over a real socket.
import { afterEach, describe, expect, it } from "vitest";
import { type PortariumHarness, type Schemas, startPortarium } from "./portarium-support.js";

let t: PortariumHarness | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});
const start = async (settings: Record<string, string>) => {
  t = await startPortarium({ settings });
  return t;
};

async function workflow(h: PortariumHarness) {
  const wf = await h.call<Schemas["WorkflowV1"]>("POST", "/v1/workspaces/ws-a/workflows", {
    name: "w",
    executionTier: "HumanApprove",
    actions: [{ actionId: "a", order: 1, portFamily: "FinanceAccounting", operation: "x" }],
  });
  return () => h.call<Schemas["RunV1"]>("POST", "/v1/workspaces/ws-a/runs", { workflowId: wf.body.workflowId });
}

describe("Portarium retention", () => {
  it("keeps portarium.maxRunsPerWorkspace runs: finished ones go first, all running is a 507", async () => {
    const h = await start({ "portarium.maxRunsPerWorkspace": "2" });
    const startRun = await workflow(h);
    const a = (await startRun()).body;
    const b = (await startRun()).body;
    const full = await startRun();
    expect(full.status).toBe(507);
    expect(full.headers.get("content-type")).toContain("application/problem+json");
    expect(full.body).toMatchObject({ status: 507, detail: expect.stringContaining("portarium.maxRunsPerWorkspace") });
    expect((await h.call("POST", `/v1/workspaces/ws-a/runs/${a.runId}/cancel`)).status).toBe(200);
    const c = await startRun();
    expect(c.status).toBe(201);
    expect((await h.call("GET", `/v1/workspaces/ws-a/runs/${a.runId}`)).status).toBe(404);
    const listed = await h.call<Schemas["RunListResponse"]>("GET", "/v1/workspaces/ws-a/runs");
    expect(listed.body.items.map((r) => r.runId)).toEqual([b.runId, c.body.runId]);
    // Another workspace has its own bound.
    const other = await h.call(
      "POST",
      "/v1/workspaces/ws-b/workflows",
      {
        name: "w",
        executionTier: "HumanApprove",
        actions: [{ actionId: "a", order: 1, portFamily: "FinanceAccounting", operation: "x" }],
      },
      { authorization: `Bearer ${await h.token("ws-b")}` },
    );
    expect(other.status).toBe(201);
  });

  it("keeps the newest portarium.maxEvidencePerWorkspace evidence entries", async () => {
    const h = await start({ "portarium.maxEvidencePerWorkspace": "3" });
    const startRun = await workflow(h);
    for (let i = 0; i < 4; i++) await startRun();
    const evidence = await h.call<Schemas["EvidenceEntryListResponse"]>("GET", "/v1/workspaces/ws-a/evidence");
    expect(evidence.status).toBe(200);
    const items = evidence.body.items;
    expect(items.length).toBe(3);
    // The retained entries still chain to each other; the oldest names a dropped predecessor.
    expect(items[1]?.previousHash).toBe(items[0]?.hashSha256);
    expect(items[2]?.previousHash).toBe(items[1]?.hashSha256);
    expect(items[0]?.previousHash).toMatch(/.+/);
  });
});
