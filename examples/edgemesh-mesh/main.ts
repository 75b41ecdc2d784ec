// The edgemesh seed's example (a session with a security key, then a routed `pwd` with
// PREFER_REMOTE) on a real two-node mesh: the coordinator is the baton-server the example
// runner started ($GRPC_ADDR); this script starts a second baton-server process that joins
// it. Then a job with two groups whose tasks run on the second node, a plan cost preview
// checked against the offline model, and a file downloaded through a one-time ticket.
import { spawn } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { EdgemeshClient, estimatePlanCost, FailedPreconditionError, PlanBuilder } from "@baton/edgemesh";

const coordinator = process.env.GRPC_ADDR ?? "127.0.0.1:50051";
const key = process.env.EDGEMESH_KEY ?? "dev-key";
const check = (ok: boolean, what: string) => {
  if (!ok) throw new Error(`example check failed: ${what}`);
};

// A second device: another baton-server process joining the coordinator.
const workerRoot = realpathSync(mkdtempSync(join(tmpdir(), "edgemesh-worker-")));
writeFileSync(join(workerRoot, "notes.txt"), "hello from the worker\n");
const bin = join(dirname(createRequire(import.meta.url).resolve("@baton/server")), "bin.js");
const worker = spawn(
  process.execPath,
  [
    bin,
    "--listen",
    "127.0.0.1:0",
    "--quiet",
    "--set",
    `edgemesh.securityKey=${key}`,
    "--set",
    "edgemesh.deviceName=worker",
    "--set",
    `edgemesh.fileRoot=${workerRoot}`,
    "--set",
    `edgemesh.join=${coordinator}`,
  ],
  { stdio: ["ignore", "pipe", "inherit"] },
);
const workerAddr = await new Promise<string>((resolve, reject) => {
  let out = "";
  worker.stdout.on("data", (c: Buffer) => {
    out += c.toString();
    const m = /listening on (\S+)/.exec(out);
    if (m?.[1]) resolve(m[1]);
  });
  worker.once("exit", (code) => reject(new Error(`worker exited with ${code}`)));
});

const mesh = new EdgemeshClient(); // $GRPC_ADDR
try {
  // The seed's example: a session, then pwd routed PREFER_REMOTE.
  const session = await mesh.connect({ deviceName: "my-client", securityKey: key });
  console.log(`session ${session.id} on ${session.hostName}`);
  const devices = await mesh.devices.list().toArray();
  console.log("devices:", devices.map((d) => `${d.name} (${d.platform}/${d.arch}) at ${d.grpcAddr}`).join(", "));
  const pwd = await mesh.commands.exec("pwd", [], { policy: { mode: "prefer-remote" } });
  console.log(`pwd ran on ${pwd.device.name} (locally: ${pwd.executedLocally}): ${pwd.stdout.trim()}`);
  check(
    pwd.device.name === "worker" && !pwd.executedLocally && pwd.stdout.trim() === workerRoot,
    "pwd ran on the worker",
  );

  // A job with two groups: facts from both devices in parallel, then an echo on the worker.
  const workerId = devices.find((d) => d.name === "worker")?.id ?? "";
  const plan = new PlanBuilder()
    .group({ kind: "SYSINFO", targetDeviceId: workerId }, { kind: "SYSINFO" })
    .group({ kind: "ECHO", input: "both groups done", targetDeviceId: workerId })
    .build();
  const job = await mesh.jobs.submit({ text: "inventory the mesh", plan });
  for await (const s of job.progress()) console.log(`job ${s.state}, group ${s.currentGroup}/${s.totalGroups}`);
  const done = await job.wait({ timeoutMs: 30_000 });
  console.log("tasks:", done.tasks.map((t) => `${t.taskId}@${t.deviceName}=${t.state}`).join(", "));
  check(done.state === "DONE" && done.tasks[2]?.deviceName === "worker", "the job ran on the worker");
  check(done.finalResult.endsWith("both groups done"), "CONCAT in plan order");

  // What a plan would cost, on the server and offline: the same numbers.
  const llmPlan = new PlanBuilder()
    .group({ taskId: "draft", kind: "LLM_GENERATE", promptTokens: 900, maxOutputTokens: 120 })
    .group({ taskId: "report", kind: "ECHO" })
    .build();
  const cost = await mesh.plans.cost(llmPlan);
  for (const d of cost.deviceCosts) console.log(`  ${d.deviceName}: ${d.totalMs.toFixed(0)} ms`);
  console.log(`recommended ${cost.recommendedDeviceName}: ${cost.totalPredictedMs.toFixed(0)} ms`);
  check(JSON.stringify(estimatePlanCost(llmPlan, devices)) === JSON.stringify(cost), "offline cost = server cost");

  // A file from the worker through a one-time ticket on its bulk HTTP server.
  const onWorker = new EdgemeshClient({ address: workerAddr });
  try {
    const ticket = await onWorker.files.createDownloadTicket("notes.txt");
    let body = "";
    for await (const chunk of (await onWorker.files.download(ticket)) as unknown as AsyncIterable<Uint8Array>)
      body += Buffer.from(chunk).toString();
    console.log(`downloaded ${ticket.filename} (${ticket.sizeBytes} bytes): ${body.trim()}`);
    check(body === "hello from the worker\n", "download content");
    const again = await onWorker.files.download(ticket).then(
      () => "accepted",
      (err: unknown) => (err instanceof FailedPreconditionError ? "refused" : String(err)),
    );
    console.log(`the same ticket again: ${again}`);
    check(again === "refused", "tickets are single use");
  } finally {
    await onWorker.close();
  }
} finally {
  await mesh.close();
  const exited = new Promise((r) => worker.once("exit", r));
  worker.kill("SIGTERM");
  await exited;
  rmSync(workerRoot, { recursive: true, force: true });
}
