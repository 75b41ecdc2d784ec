// `pnpm bench`: Baton next to its peers, measured in one run. Servers run in their own
// processes (pinned to core 0 with `taskset` when the machine has 2+ cores; this client on
// core 1); each comparison alternates its variants round by round and reports medians,
// their spread and the ratio to the peer: @grpc/grpc-js (client and bare server, same
// proto), undici.request, and a bare node:http JSON server. Prints a Markdown table and
// writes JSON. Every loop is bounded.
//
//   node bench/run.mjs            full run, writes bench/results/latest.json (the README's table)
//   node bench/run.mjs --quick    small counts, checks that it all runs (CI); BENCH_QUICK=1 too
//   node bench/run.mjs --only unary,streams   some suites only
import { fileURLToPath } from "node:url";
import { canPin, pinSelf, startProcess } from "./lib/procs.mjs";
import { machine, markdown, rows, writeJson } from "./lib/report.mjs";
import { fanout } from "./suites/fanout.mjs";
import { portariumGetRun } from "./suites/portarium.mjs";
import { serverCpuRest, serverCpuUnary } from "./suites/server-cpu.mjs";
import { startup } from "./suites/startup.mjs";
import { streamMemory, streamReplay } from "./suites/streams.mjs";
import { protocols, unaryVsGrpcJs } from "./suites/unary.mjs";

const args = process.argv.slice(2);
const quick = process.env.BENCH_QUICK === "1" || args.includes("--quick");
const onlyArg = args.find((a) => a.startsWith("--only"));
const only = onlyArg
  ? new Set((onlyArg.includes("=") ? onlyArg.split("=")[1] : args[args.indexOf(onlyArg) + 1]).split(","))
  : undefined;

const cfg = quick
  ? {
      quick,
      rounds: 1,
      warmup: 5,
      inFlight: [1, 50, 1000],
      unaryCalls: (inFlight) => Math.max(50, inFlight),
      restCalls: 100,
      streamEvents: 500,
      streamRounds: 1,
      restRounds: 1,
      memoryEvents: 5000,
      fanoutStreams: 50,
      fanoutEvents: 3,
    }
  : {
      rounds: 5,
      warmup: 200,
      inFlight: [1, 10, 50, 100, 1000],
      unaryCalls: (inFlight) => (inFlight === 1 ? 1500 : inFlight >= 1000 ? 10_000 : 5000),
      restCalls: 5000,
      streamEvents: 20_000,
      // A replay takes ~0.1 s and this machine's noise is ±30% round to round: more rounds.
      streamRounds: 15,
      // Sequential REST calls sit at parity with undici.request within this machine's noise.
      restRounds: 9,
      memoryEvents: 1_000_000,
      fanoutStreams: 1000,
      fanoutEvents: 50,
    };

const pin = canPin();
if (pin) pinSelf(1);
const server = (name) => fileURLToPath(new URL(`./servers/${name}.mjs`, import.meta.url));
// BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=prof" profiles the servers.
const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? "").split(" ").filter(Boolean);
const ctx = {
  cfg,
  pin,
  startBaton: () => startProcess(server("baton"), { pin, nodeArgs }),
  startPeerGrpc: () => startProcess(server("grpc-js"), { pin, nodeArgs }),
  startPeerHttp: () => startProcess(server("http"), { pin, nodeArgs }),
  startBareStream: () => startProcess(server("h2-replay"), { pin, nodeArgs }),
};
const suites = {
  unary: unaryVsGrpcJs,
  protocols,
  streams: streamReplay,
  memory: streamMemory,
  "server-cpu": serverCpuUnary,
  "server-cpu-rest": serverCpuRest,
  fanout,
  portarium: portariumGetRun,
  startup,
};
const started = new Date();
for (const [name, suite] of Object.entries(suites)) {
  if (only && !only.has(name)) continue;
  const t0 = performance.now();
  await suite(ctx);
  process.stderr.write(`bench: ${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
}

const meta = {
  date: started.toISOString(),
  quick,
  rounds: cfg.rounds,
  streamRounds: cfg.streamRounds,
  restRounds: cfg.restRounds,
  machine: machine(pin),
};
const table = markdown();
console.log(table);
console.log(
  `\nratio = Baton / peer; ↑ higher is better, ↓ lower is better. Medians of ${cfg.rounds} alternating rounds` +
    ` (${cfg.streamRounds} for StreamEvents, ${cfg.restRounds} for Portarium);` +
    " spread = ± half the range of the rounds around the median.",
);
console.log(`machine: ${Object.values(meta.machine).join("; ")}`);
const short = rows.filter((r) => r.met === false).length;
console.log(`targets: ${rows.filter((r) => r.met).length} met, ${short} short`);
const out = fileURLToPath(new URL(quick ? "./results/quick.json" : "./results/latest.json", import.meta.url));
if (!only) writeJson(out, meta);
