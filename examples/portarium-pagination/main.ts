// Cursor pagination with @baton/portarium: `for await` follows nextCursor through every
// page, `.pages()` goes page by page (for UIs), and `{ limit, cursor }` fetches one page.
// Runs started while paging are never skipped or repeated: cursors are positions in the
// server's insertion order.
import { PortariumClient } from "@baton/portarium";

// The address is $PORTARIUM_URL, else http://127.0.0.1:8080.
await using portarium = new PortariumClient({
  clientCredentials: {
    clientId: process.env.PORTARIUM_CLIENT_ID ?? "demo-client",
    clientSecret: process.env.PORTARIUM_CLIENT_SECRET ?? "demo-secret",
  },
  workspaceId: process.env.PORTARIUM_WORKSPACE_ID ?? "ws-demo",
});

// An Auto workflow: its runs succeed as soon as they start.
const workflow = await portarium.workflows.create({
  name: "nightly sync",
  executionTier: "Auto",
  actions: [{ actionId: "sync", order: 1, portFamily: "CrmSales", operation: "contacts.sync" }],
});
for (let i = 0; i < 7; i++) await portarium.runs.start({ workflowId: workflow.workflowId });
console.log("started 7 runs");

let pageNo = 0;
for await (const page of portarium.runs.list({ limit: 3 }).pages()) {
  pageNo++;
  console.log(
    `page ${pageNo}: ${page.items.map((r) => r.runId.slice(0, 12)).join(" ")}${page.nextCursor ? " (more)" : ""}`,
  );
  // Another writer adds a run while we page; it shows up later, exactly once.
  if (pageNo === 1) await portarium.runs.start({ workflowId: workflow.workflowId });
}

const ids: string[] = [];
for await (const run of portarium.runs.list({ limit: 2 })) ids.push(run.runId);
console.log(`for await saw ${ids.length} runs, ${new Set(ids).size} distinct`);
if (ids.length !== 8 || new Set(ids).size !== 8) throw new Error("pagination skipped or repeated a run");
