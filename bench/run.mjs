// `pnpm bench`: what the idiomatic layer costs over the generated Connect client, measured
// in the same run against the same in-process baton-server, reported as ratios (baseline =
// raw client = 1.00). Loops are bounded; numbers are ops/s on this machine.
import { OrcaClient } from "@baton/orca";
import { startServer } from "@baton/server";

const CALLS = Number(process.env.BENCH_CALLS ?? 3000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 5000);
const CONCURRENCY = 16;

const server = await startServer({ listen: ["127.0.0.1:0"] });
const orca = new OrcaClient({ address: server.addresses[0] });
const raw = orca.raw;

let tagN = 0;
async function once(n, fn) {
  const t0 = process.hrtime.bigint();
  await fn(n, `r${++tagN}`);
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}
/** Alternates baseline and candidate for ROUNDS rounds (after a warm-up) and keeps each one's best. */
const ROUNDS = 3;
async function compare(n, baseFn, sdkFn) {
  await once(Math.min(200, n), baseFn);
  await once(Math.min(200, n), sdkFn);
  let base = 0;
  let sdk = 0;
  for (let r = 0; r < ROUNDS; r++) {
    base = Math.max(base, await once(n, baseFn));
    sdk = Math.max(sdk, await once(n, sdkFn));
  }
  return [{ opsPerSec: base }, { opsPerSec: sdk }];
}
async function pool(n, task) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) await task(next++);
    }),
  );
}
const envelope = (id) => ({
  id,
  parentId: "",
  traceId: "",
  agent: "",
  kind: "agent_task",
  payloadJson: "{}",
  timeoutMs: 0n,
  protocolVersion: 1,
  tsMs: BigInt(Date.now()),
});

let runN = 0;
const rows = [];
function pair(label, base, sdk) {
  rows.push({
    benchmark: label,
    "raw ops/s": Math.round(base.opsPerSec),
    "baton ops/s": Math.round(sdk.opsPerSec),
    ratio: (sdk.opsPerSec / base.opsPerSec).toFixed(2),
  });
}

// Unary submit, 16 in flight.
{
  const rawRun = `bench-raw-${++runN}`;
  await raw.startRun({ workflowId: rawRun });
  const run = await orca.runs.start({ workflowId: `bench-sdk-${++runN}` });
  const [base, sdk] = await compare(
    CALLS,
    (n, tag) => pool(n, (i) => raw.submitTask({ runId: rawRun, task: envelope(`${tag}-${i}`) })),
    (n) => pool(n, () => run.submit({ payload: {} })),
  );
  pair(`SubmitTask x${CALLS} (${CONCURRENCY} in flight)`, base, sdk);
}

// Server stream replay.
{
  const run = await orca.runs.start({ workflowId: `bench-events-${++runN}` });
  await pool(EVENTS - 1, (i) => run.submit({ id: `e-${i}` }));
  const [base, sdk] = await compare(
    EVENTS,
    async (n) => {
      let got = 0;
      for await (const _ of raw.streamEvents({ runId: run.runId, startEventId: 1n, maxEvents: n })) got++;
      if (got !== n) throw new Error(`raw stream gave ${got}/${n}`);
    },
    async (n) => {
      let got = 0;
      for await (const _ of run.events({ max: n })) got++;
      if (got !== n) throw new Error(`baton stream gave ${got}/${n}`);
    },
  );
  pair(`StreamEvents replay x${EVENTS}`, base, sdk);
}

console.table(rows);
console.log("ratio = baton / raw (1.00 = no overhead; higher is better).");
orca.close();
await server.close();
