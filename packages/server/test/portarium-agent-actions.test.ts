// Executing an approved agent action does something: the approval is spent, the run's
// evidence records what ran (with the payload's hash), and the answer says what was done.
import { createHash } from "node:crypto";
import { canonicalJson, verifyEvidenceChain } from "@baton/wire/portarium";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PortariumHarness, type Schemas, startPortarium } from "./portarium-support.js";

let t: PortariumHarness;
beforeAll(async () => {
  t = await startPortarium();
});
afterAll(() => t.close());

/** A HumanApprove run of a two-action workflow, with an approval decided `decision`. */
async function approvedRun(decision: "Approved" | "Denied" = "Approved") {
  const wf = await t.call<Schemas["WorkflowV1"]>("POST", "/v1/workspaces/ws-a/workflows", {
    name: "refunds",
    executionTier: "HumanApprove",
    actions: [
      { actionId: "check", order: 1, portFamily: "PaymentsBilling", operation: "refund.check" },
      { actionId: "refund", order: 2, portFamily: "PaymentsBilling", operation: "refund.issue" },
    ],
  });
  const run = await t.call<Schemas["RunV1"]>("POST", "/v1/workspaces/ws-a/runs", { workflowId: wf.body.workflowId });
  const approval = await t.call<Schemas["ApprovalV1"]>("POST", "/v1/workspaces/ws-a/approvals", {
    runId: run.body.runId,
    planId: "plan-refund",
    prompt: "Refund 1200 EUR?",
  });
  await t.call("POST", `/v1/workspaces/ws-a/approvals/${approval.body.approvalId}/decide`, {
    decision,
    rationale: "checked",
  });
  return { run: run.body, approval: approval.body };
}

const execute = (approvalId: string, body: Schemas["ExecuteApprovedAgentActionRequest"]) =>
  t.call<Schemas["ExecuteApprovedAgentActionResponse"]>(
    "POST",
    `/v1/workspaces/ws-a/agent-actions/${approvalId}/execute`,
    body,
  );

describe("executing an approved agent action", () => {
  it("records the execution in the run's evidence and answers what was done", async () => {
    const { run, approval } = await approvedRun();
    const payload = { customer: 42, amount: { value: 1200, currency: "EUR" } };
    const res = await execute(approval.approvalId, { flowRef: "refund", payload });
    expect(res.status).toBe(200);
    const sha = createHash("sha256").update(canonicalJson(payload)).digest("hex");
    const evidence = await t.call<Schemas["EvidenceEntryListResponse"]>(
      "GET",
      `/v1/workspaces/ws-a/runs/${run.runId}/evidence`,
    );
    const entry = evidence.body.items.at(-1);
    expect(entry).toMatchObject({
      category: "Action",
      summary: "agent action refund executed: refund.issue",
      actor: { kind: "User", userId: "demo" },
      links: { runId: run.runId, planId: "plan-refund", approvalId: approval.approvalId },
      payloadRefs: [{ kind: "Snapshot", contentType: "application/json", sha256: sha }],
    });
    expect(entry?.payloadRefs?.[0]?.uri).toBe(`urn:baton:portarium:execution:${res.body.executionId}`);
    expect(res.body).toEqual({
      executionId: res.body.executionId,
      approvalId: approval.approvalId,
      status: "Executed",
      output: {
        flowRef: "refund",
        runId: run.runId,
        runStatus: "Succeeded",
        planId: "plan-refund",
        action: { actionId: "refund", operation: "refund.issue", portFamily: "PaymentsBilling" },
        evidenceId: entry?.evidenceId,
        payloadSha256: sha,
        executedAtIso: entry?.occurredAtIso,
        executedByUserId: "demo",
      },
    });
    const approvalNow = await t.call<Schemas["ApprovalV1"]>(
      "GET",
      `/v1/workspaces/ws-a/approvals/${approval.approvalId}`,
    );
    expect(approvalNow.body.status).toBe("Executed");
    const chain = await t.call<Schemas["EvidenceEntryListResponse"]>("GET", "/v1/workspaces/ws-a/evidence?limit=200");
    expect(verifyEvidenceChain(chain.body.items)).toBeUndefined();
  });

  it("runs a flow that is not one of the workflow's actions without claiming one", async () => {
    const { approval } = await approvedRun();
    const res = await execute(approval.approvalId, { flowRef: "notify-customer" });
    expect(res.body.output).not.toHaveProperty("action");
    expect(res.body.output).toMatchObject({
      flowRef: "notify-customer",
      payloadSha256: createHash("sha256").update(canonicalJson({})).digest("hex"),
    });
  });

  it("runs once: a second execution, an undecided or denied approval, or a cancelled run is a 409", async () => {
    const { approval } = await approvedRun();
    expect((await execute(approval.approvalId, { flowRef: "refund" })).status).toBe(200);
    const twice = await execute(approval.approvalId, { flowRef: "refund" });
    expect(twice.status).toBe(409);
    expect(twice.body).toMatchObject({ detail: `approval ${approval.approvalId} is Executed, not Approved` });

    const denied = await approvedRun("Denied");
    expect((await execute(denied.approval.approvalId, { flowRef: "refund" })).status).toBe(409);

    // Approved while another approval is pending, then the run is cancelled: the action no longer runs.
    const { run, approval: first } = await approvedRunWithSecondPending();
    expect((await t.call("POST", `/v1/workspaces/ws-a/runs/${run.runId}/cancel`)).status).toBe(200);
    const late = await execute(first.approvalId, { flowRef: "refund" });
    expect(late.status).toBe(409);
    expect(late.body).toMatchObject({ detail: `run ${run.runId} is Cancelled: its approved action no longer runs` });
    const still = await t.call<Schemas["ApprovalV1"]>("GET", `/v1/workspaces/ws-a/approvals/${first.approvalId}`);
    expect(still.body.status).toBe("Approved");
  });
});

async function approvedRunWithSecondPending() {
  const wf = await t.call<Schemas["WorkflowV1"]>("POST", "/v1/workspaces/ws-a/workflows", {
    name: "two gates",
    executionTier: "HumanApprove",
    actions: [{ actionId: "refund", order: 1, portFamily: "PaymentsBilling", operation: "refund.issue" }],
  });
  const run = await t.call<Schemas["RunV1"]>("POST", "/v1/workspaces/ws-a/runs", { workflowId: wf.body.workflowId });
  const gate = (prompt: string) =>
    t.call<Schemas["ApprovalV1"]>("POST", "/v1/workspaces/ws-a/approvals", {
      runId: run.body.runId,
      planId: "p",
      prompt,
    });
  const first = (await gate("first?")).body;
  await gate("second?");
  await t.call("POST", `/v1/workspaces/ws-a/approvals/${first.approvalId}/decide`, {
    decision: "Approved",
    rationale: "ok",
  });
  return { run: run.body, approval: first };
}
