/**
 * The ORCA seed's quickstart, with @baton/orca: start a run with a budget, submit tasks
 * with usage hints until the budget says no, stream the run's events, fetch a result.
 *
 * Against your own orchestrator: ORCA_ADDR=host:port [ORCA_TOKEN=...] [ORCA_CA=ca.pem].
 * Without ORCA_ADDR it starts an embedded baton-server on a free local port.
 */
import { readFileSync } from "node:fs";
import { BudgetExceededError, OrcaClient } from "@baton/orca";
import { type BatonServer, startServer } from "@baton/server";

let embedded: BatonServer | undefined;
let address = process.env.ORCA_ADDR;
if (!address) {
  embedded = await startServer({ listen: ["127.0.0.1:0"] });
  address = embedded.addresses[0] as string;
  console.log(`started an embedded baton-server on ${address}`);
}

const orca = new OrcaClient({
  address,
  ...(process.env.ORCA_TOKEN ? { token: process.env.ORCA_TOKEN } : {}),
  ...(process.env.ORCA_CA ? { tls: { ca: readFileSync(process.env.ORCA_CA) } } : {}),
  timeoutMs: 10_000,
});

try {
  // StartRun: the run id is the workflow id; the initial task is the run's first task.
  const workflowId = `wf-${Date.now()}`;
  const run = await orca.runs.start({
    workflowId,
    task: { id: "msg-1", traceId: "trace-1", agent: "agent.py", payload: {}, timeoutMs: 60_000 },
    budget: { maxTokens: 1000 },
  });
  console.log(`run ${run.id} started with budget`, run.budget.limits);

  // SubmitTask with usage hints until the budget refuses one.
  for (let i = 2; ; i++) {
    try {
      const task = await run.submit({
        traceId: "trace-1",
        agent: "agent.py",
        payload: { step: i },
        usage: { tokens: 128, costMicros: 2500 },
      });
      console.log(
        `task ${i} accepted (${task.id}); tokens used ${run.budget.used.tokens}, remaining ${run.budget.remaining.tokens}`,
      );
    } catch (err) {
      if (!(err instanceof BudgetExceededError)) throw err;
      console.log(`task ${i} refused: budget exceeded on ${err.limit} (${err.message})`);
      break;
    }
  }

  // An agent reports a result for the first task; anyone can fetch it.
  await run.submit({ kind: "agent_result", parentId: "msg-1", agent: "agent.py", payload: { answer: 42 } });
  const result = await run.result("msg-1");
  console.log("result of msg-1:", result.ok ? result.payload : result.error);

  // StreamEvents: the whole history (follow: false ends after the replay).
  console.log("events:");
  for await (const ev of run.events({ follow: false })) {
    console.log(`  #${ev.id} ${ev.kind}${ev.parentId ? ` (${ev.parentId})` : ""} ${JSON.stringify(ev.payload)}`);
  }
  const b = run.budget;
  console.log(`budget: used ${b.used.tokens}/${b.limits.maxTokens} tokens, warned=${b.warned}, exceeded=${b.exceeded}`);
} finally {
  await orca.close();
  await embedded?.close();
}
