// `pnpm bench`: what each idiomatic layer costs over the generated client it wraps (Connect
// for ORCA and baaaht, openapi-fetch for Portarium), measured in the same run against the
// same in-process baton-server, reported as ratios (baseline = raw client = 1.00). Loops are
// bounded; numbers are ops/s on this machine.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BaaahtClient } from "@baton/baaaht";
import { EventType, MessageRole } from "@baton/baaaht/wire";
import { OrcaClient } from "@baton/orca";
import { PortariumClient } from "@baton/portarium";
import { startServer } from "@baton/server";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";

const CALLS = Number(process.env.BENCH_CALLS ?? 3000);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 5000);
const CONCURRENCY = 16;

const dir = mkdtempSync(join(tmpdir(), "baton-bench-"));
const server = await startServer({
  listen: ["127.0.0.1:0", `unix://${join(dir, "baaaht.sock")}`],
  settings: { "portarium.serviceAccounts": "bench:secret:ws-bench" },
});
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
      for await (const _ of raw.streamEvents({ runId: run.id, startEventId: 1n, maxEvents: n })) got++;
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

// baaaht over the Unix socket: unary SendMessage, 16 in flight.
const baaaht = new BaaahtClient({ address: server.addresses[1] });
{
  const handle = await baaaht.sessions.create({ config: { maxContainers: 1 } });
  const message = { role: MessageRole.USER, content: "hello" };
  const [base, sdk] = await compare(
    CALLS,
    (n) => pool(n, () => baaaht.raw.orchestrator.sendMessage({ sessionId: handle.id, message })),
    (n) => pool(n, () => handle.send("hello")),
  );
  pair(`baaaht SendMessage x${CALLS} (unix, ${CONCURRENCY} in flight)`, base, sdk);
}

// baaaht SubscribeEvents: replay of logged events between two times.
{
  const from = new Date();
  await pool(EVENTS, () => baaaht.raw.orchestrator.createSession({ metadata: { ownerId: "bench-events" } }));
  const until = new Date(Date.now() + 1);
  await new Promise((r) => setTimeout(r, 5));
  const count = async (it) => {
    let got = 0;
    for await (const _ of it) got++;
    if (got < EVENTS) throw new Error(`stream gave ${got}/${EVENTS}`);
  };
  const [base, sdk] = await compare(
    EVENTS,
    () =>
      count(
        baaaht.raw.orchestrator.subscribeEvents({
          filter: {
            type: EventType.SESSION_CREATED,
            startTime: timestampFromMs(from.getTime()),
            endTime: timestampFromMs(until.getTime()),
          },
        }),
      ),
    () => count(baaaht.events.subscribe({ type: "SESSION_CREATED", since: from, until })),
  );
  pair(`baaaht SubscribeEvents replay x${EVENTS} (unix)`, base, sdk);
}

// Portarium (REST over HTTP/1.1): GetRun, 16 in flight, and listing every run page by page.
const portarium = new PortariumClient({
  address: `http://${server.addresses[0]}`,
  clientCredentials: { clientId: "bench", clientSecret: "secret" },
  workspaceId: "ws-bench",
});
{
  const wf = await portarium.workflows.create({
    name: "bench",
    executionTier: "Auto",
    actions: [{ actionId: "a1", order: 1, portFamily: "FinanceAccounting", operation: "invoice.approve" }],
  });
  const RUNS = 500;
  const runIds = [];
  await pool(RUNS, async () => runIds.push((await portarium.runs.start({ workflowId: wf.workflowId })).runId));
  const params = (runId) => ({ params: { path: { workspaceId: "ws-bench", runId } } });
  const [base, sdk] = await compare(
    CALLS,
    (n) =>
      pool(n, async (i) => {
        const r = await portarium.raw.GET("/v1/workspaces/{workspaceId}/runs/{runId}", params(runIds[i % RUNS]));
        if (!r.data) throw new Error(`GetRun answered ${r.response.status}`);
      }),
    (n) => pool(n, (i) => portarium.runs.get(runIds[i % RUNS])),
  );
  pair(`Portarium GetRun x${CALLS} (${CONCURRENCY} in flight)`, base, sdk);
  const LISTS = 20;
  const [lbase, lsdk] = await compare(
    LISTS,
    async (n) => {
      for (let k = 0; k < n; k++) {
        let cursor;
        let got = 0;
        for (let page = 0; page < 1000; page++) {
          const r = await portarium.raw.GET("/v1/workspaces/{workspaceId}/runs", {
            params: { path: { workspaceId: "ws-bench" }, query: { limit: 50, ...(cursor ? { cursor } : {}) } },
          });
          got += r.data?.items.length ?? 0;
          cursor = r.data?.nextCursor;
          if (!cursor) break;
        }
        if (got < RUNS) throw new Error(`raw listing gave ${got}/${RUNS}`);
      }
    },
    async (n) => {
      for (let k = 0; k < n; k++) {
        const all = await portarium.runs.list({ limit: 50 }).toArray();
        if (all.length < RUNS) throw new Error(`listing gave ${all.length}/${RUNS}`);
      }
    },
  );
  pair(`Portarium ListRuns, ${RUNS} runs in pages of 50, x${LISTS}`, lbase, lsdk);
}

console.table(rows);
console.log("ratio = baton / raw (1.00 = no overhead; higher is better).");
await orca.close();
await baaaht.close();
await portarium.close();
await server.close();
rmSync(dir, { recursive: true, force: true });
