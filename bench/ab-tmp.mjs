// temporary A/B harness (not committed): base baton, new baton, bare grpc-js, rounds alternating.
import { canPin, pinSelf, startProcess } from "./lib/procs.mjs";
import { grpcJsClient, grpcJsEnvelope, unary } from "./lib/grpc.mjs";
import { load, median } from "./lib/stats.mjs";
const rounds = Number(process.env.ROUNDS ?? 9), calls = Number(process.env.CALLS ?? 4000);
const pin = canPin(); if (pin) pinSelf(1);
const mk = async (name, script) => {
  const server = await startProcess(script, { pin });
  const client = grpcJsClient(server.info.address);
  const { runId } = await unary(client, "startRun", { workflowId: `ab-${name}` });
  let n = 0;
  const call = () => unary(client, "submitTask", { runId, task: grpcJsEnvelope(`c-${++n}`) });
  return { name, server, client, run: (k) => load(k, 50, call) };
};
const vs = [await mk("base", "/work/wt-srv-base/bench/servers/baton.mjs"), await mk("new", "/work/wt-srv/bench/servers/baton.mjs"), await mk("grpcjs", "/work/wt-srv/bench/servers/grpc-js.mjs")];
for (const v of vs) await v.run(500);
const us = vs.map(() => []);
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? [2, 1, 0] : [0, 1, 2];
  for (const i of order) { const v = vs[i]; const b = (await v.server.ask("cpu")).cpuUs; await v.run(calls); us[i].push(((await v.server.ask("cpu")).cpuUs - b) / calls); }
}
const rb = us[0].map((x, i) => x / us[2][i]), rn = us[1].map((x, i) => x / us[2][i]), nb = us[1].map((x, i) => x / us[0][i]);
const f = (xs) => `median ${median(xs).toFixed(2)} [${Math.min(...xs).toFixed(2)}..${Math.max(...xs).toFixed(2)}]`;
console.log("µs/call base", median(us[0]).toFixed(0), "new", median(us[1]).toFixed(0), "grpc-js", median(us[2]).toFixed(0));
console.log("base/grpcjs", f(rb)); console.log("new/grpcjs ", f(rn)); console.log("new/base   ", f(nb));
for (const v of vs) { v.client.close(); await v.server.close(); }
process.exit(0);
