// The Portarium seed's usage (its Python client guide), in TypeScript with @baton/portarium:
// authenticate with a service account, start a workflow run, get it, page through runs,
// the async variant (several calls in flight at once), and a machine invocation followed to
// completion.
import { PortariumClient } from "@baton/portarium";

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
};

// Service account: the client exchanges these at POST /v1/auth/token for a workspace-scoped
// JWT, caches it and refreshes it before it expires (the seed leaves refresh to the caller).
await using portarium = new PortariumClient({
  address: env("PORTARIUM_URL"),
  clientCredentials: { clientId: env("PORTARIUM_CLIENT_ID"), clientSecret: env("PORTARIUM_CLIENT_SECRET") },
  workspaceId: env("PORTARIUM_WORKSPACE_ID"),
});

const workspace = await portarium.workspaces.get();
console.log(`authenticated; workspace ${workspace.workspaceId}`);

// A run needs an existing workflow: the seed's "wf-invoice-approval".
const workflow = await portarium.workflows.create({
  name: "invoice approval",
  executionTier: "HumanApprove",
  actions: [{ actionId: "approve-invoice", order: 1, portFamily: "FinanceAccounting", operation: "invoice.approve" }],
});
console.log(`created workflow ${workflow.workflowId} (${workflow.name}, tier ${workflow.executionTier})`);

// Start a workflow run (the seed's `input` is `parameters` on the wire).
const run = await portarium.runs.start({
  workflowId: workflow.workflowId,
  parameters: { invoice_id: "inv-123", amount: 5000 },
});
console.log(`Run started: ${run.runId}, status: ${run.status}`);

const fetched = await portarium.runs.get(run.runId);
console.log(`Run ${fetched.runId}: status ${fetched.status}, initiated by ${fetched.initiatedByUserId}`);

// The async variant: in TypeScript every call is async; start several runs concurrently.
const more = await Promise.all(
  [1, 2, 3].map((n) =>
    portarium.runs.start({ workflowId: workflow.workflowId, parameters: { invoice_id: `inv-12${n}` } }),
  ),
);
console.log(`started ${more.length} more runs concurrently: ${more.map((r) => r.runId).join(", ")}`);

// Pagination: one page of 2, then the next page with its cursor, then every run.
const page = await portarium.runs.list({ limit: 2 });
for (const r of page.items) console.log(`  page 1: ${r.runId} ${r.status}`);
if (page.nextCursor) {
  const next = await portarium.runs.list({ limit: 2, cursor: page.nextCursor });
  for (const r of next.items) console.log(`  page 2: ${r.runId} ${r.status}`);
}
let count = 0;
for await (const r of portarium.runs.list({ limit: 2 })) {
  count++;
  if (r.runId === run.runId) console.log(`  found the first run again while iterating: ${r.runId}`);
}
console.log(`iterated ${count} runs across every page`);

const cancelled = await portarium.runs.cancel(run.runId);
console.log(`cancelled ${cancelled.runId}: ${cancelled.status}`);
if (count !== 4 || cancelled.status !== "Cancelled") throw new Error("unexpected result");

// Machines (the seed's `machines/` API): register one, invoke an action on it, follow the
// invocation's progress as it runs (server-sent events), then wait for its final state.
const machine = await portarium.machines.register({ hostname: "build-01", osImage: "ubuntu-24.04" });
const invocation = await portarium.machines.invoke(machine.machineId, { action: "invoice.export" });
console.log(`invocation ${invocation.invocationId}: ${invocation.status}`);
// A handle on the invocation: its events (resumed if the connection drops), then its final state.
const handle = portarium.machines.getInvocationHandle(machine.machineId, invocation.invocationId);
for await (const e of handle.events()) {
  console.log(`  ${e.status} ${Math.round((e.progressRatio ?? 0) * 100)}% ${e.step ?? ""}`);
}
const finished = await handle.wait({ timeoutMs: 30_000 });
console.log(
  `invocation ${finished.status}${finished.outputArtifactUris ? `: ${finished.outputArtifactUris.join(", ")}` : ""}`,
);
if (finished.status !== "completed") throw new Error(`invocation ${finished.status}: ${finished.error}`);
