// An approval gate end to end: a run waits for an approval, the decision is sent with an
// Idempotency-Key (a retry replays it instead of failing), the approved agent action is
// executed, and the workspace's evidence log is verified as an unbroken hash chain.
import { ConflictError, PortariumClient } from "@baton/portarium";

// The address is $PORTARIUM_URL, else http://127.0.0.1:8080.
await using portarium = new PortariumClient({
  clientCredentials: {
    clientId: process.env.PORTARIUM_CLIENT_ID ?? "demo-client",
    clientSecret: process.env.PORTARIUM_CLIENT_SECRET ?? "demo-secret",
  },
  workspaceId: process.env.PORTARIUM_WORKSPACE_ID ?? "ws-demo",
});

const workflow = await portarium.workflows.create({
  name: "refund over limit",
  executionTier: "HumanApprove",
  actions: [{ actionId: "refund", order: 1, portFamily: "PaymentsBilling", operation: "refund.issue" }],
});
const started = await portarium.runs.start({ workflowId: workflow.workflowId, parameters: { amount: 1200 } });
console.log(`run ${started.runId}: ${started.status}`);
// A handle on the run: no network call, and no run id to repeat.
const run = portarium.runs.getHandle(started.runId);

const approval = await portarium.approvals.create({
  runId: run.id,
  planId: "plan-refund-1",
  prompt: "Refund 1200 EUR to customer 42?",
});
console.log(`approval ${approval.approvalId}: ${approval.status}; run is now ${(await run.get()).status}`);

const key = `decide-${approval.approvalId}`;
const decided = await portarium.approvals.decide(
  approval.approvalId,
  { decision: "Approved", rationale: "within policy" },
  { idempotencyKey: key },
);
const replayed = await portarium.approvals.decide(
  approval.approvalId,
  { decision: "Approved", rationale: "within policy" },
  { idempotencyKey: key },
);
console.log(
  `decided ${decided.status} by ${decided.decidedByUserId}; replay with the same key answers ${replayed.status}`,
);
try {
  await portarium.approvals.decide(approval.approvalId, { decision: "Denied", rationale: "second thoughts" });
} catch (err) {
  if (!(err instanceof ConflictError)) throw err;
  console.log(`a second decision is refused: ${err.status} ${err.detail}`);
}

const execution = await portarium.agentActions.execute(approval.approvalId, {
  flowRef: "refund-flow",
  payload: { customer: 42 },
});
console.log(`agent action ${execution.executionId}: ${execution.status}`);
console.log(`run ${run.id}: ${(await run.get()).status}`);

for await (const e of run.evidence()) {
  console.log(
    `  evidence ${e.category.padEnd(8)} ${e.hashSha256.slice(0, 12)} <- ${(e.previousHash ?? "").slice(0, 12).padEnd(12)} ${e.summary}`,
  );
}
const { entries, problem } = await portarium.evidence.verifyChain();
console.log(
  `evidence chain of ${entries} entries: ${problem ? `BROKEN at ${problem.index}: ${problem.reason}` : "intact"}`,
);
if (problem) throw new Error(`evidence chain broken at ${problem.index}`);
