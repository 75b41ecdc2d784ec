// The page of the Chromium test: bundled from the packages' browser entries (esbuild,
// `platform: "browser"`), served from an origin other than baton-server's. It drives an
// ORCA run (start, submit, result, events) and a Portarium list, then the Node-only
// refusals, and writes what it saw into the page for the test to read.
import { InvalidArgumentError } from "@baton/core";
import { OrcaClient } from "@baton/orca";
import { PortariumClient } from "@baton/portarium";

const params = new URLSearchParams(location.search);
const api = params.get("api") ?? "";
const protocol = params.get("protocol") === "connect" ? "connect" : "grpc-web";

/** Adds `<output id=...>text</output>` to the page. */
function show(id: string, text: string): void {
  const el = document.createElement("output");
  el.id = id;
  el.textContent = text;
  document.body.append(el, document.createElement("br"));
}

async function orcaRun(): Promise<void> {
  const orca = new OrcaClient({ address: api, protocol, timeoutMs: 10_000 });
  try {
    const run = await orca.runs.start({
      workflowId: `wf-browser-${protocol}`,
      task: { id: "msg-1", agent: "agent.py", payload: { from: "chromium" } },
      budget: { maxTokens: 1000 },
    });
    show("orca-run", run.id);
    // No id given: the client makes one with the browser's crypto.randomUUID.
    const task = await run.submit({ agent: "agent.py", payload: { step: 2 }, usage: { tokens: 100 } });
    show("orca-task", task.id);
    await run.submit({ kind: "agent_result", parentId: "msg-1", agent: "agent.py", payload: { answer: 42 } });
    const result = await run.result("msg-1");
    show("orca-result", JSON.stringify(result.ok ? result.payload : result.error));
    const events: string[] = [];
    for await (const ev of run.events({ follow: false })) events.push(ev.kind);
    show("orca-events", events.join(" "));
    show("orca-budget", `${run.budget.used.tokens}/${run.budget.limits.maxTokens}`);
  } finally {
    await orca.close();
  }
}

async function portariumList(): Promise<void> {
  const portarium = new PortariumClient({
    address: api,
    clientCredentials: { clientId: "demo", clientSecret: "s3cret" },
    workspaceId: "ws-a",
  });
  try {
    const workflow = await portarium.workflows.create({
      name: "from the browser",
      executionTier: "Auto",
      actions: [{ actionId: "a-1", order: 1, portFamily: "FinanceAccounting", operation: "invoice.read" }],
    });
    const run = await portarium.runs.start({ workflowId: workflow.workflowId, parameters: { from: "chromium" } });
    show("portarium-started", run.runId);
    const runs: string[] = [];
    // Pages of one, so the list follows cursors.
    for await (const r of portarium.runs.list({ limit: 1 })) runs.push(`${r.runId}:${r.status}`);
    show("portarium-runs", runs.join(" "));
  } finally {
    await portarium.close();
  }
}

/** What the browser build refuses, by the message it refuses it with. */
function refusals(): void {
  const attempts: Record<string, () => unknown> = {
    unix: () => new OrcaClient({ address: "unix:///tmp/orca.sock" }),
    // @ts-expect-error: the browser types have no grpc protocol
    grpc: () => new OrcaClient({ address: api, protocol: "grpc" }),
    // @ts-expect-error: nor TLS settings (custom CA, client certificates)
    mtls: () => new OrcaClient({ address: "https://orca.example.test", tls: { cert: "pem", key: "pem" } }),
    // @ts-expect-error: nor a dial timeout
    dial: () => new OrcaClient({ address: api, dialTimeoutMs: 5 }),
  };
  for (const [name, attempt] of Object.entries(attempts)) {
    try {
      attempt();
      show(`refusal-${name}`, "accepted");
    } catch (err) {
      show(
        `refusal-${name}`,
        `${err instanceof InvalidArgumentError ? "InvalidArgumentError" : "other"}: ${String((err as Error).message)}`,
      );
    }
  }
}

async function main(): Promise<void> {
  try {
    if (params.get("only") !== "portarium") await orcaRun();
    if (params.get("only") !== "orca") await portariumList();
    refusals();
    show("done", "ok");
  } catch (err) {
    show("error", `${(err as Error).name}: ${(err as Error).message}`);
    show("done", "error");
  }
}

void main();
