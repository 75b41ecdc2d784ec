// Startup: from spawning `baton-server` (its bin, every module) to its "listening" line,
// next to a bare grpc-js server script doing the same.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { addRow } from "../lib/report.mjs";
import { alternate } from "../lib/stats.mjs";

const batonBin = fileURLToPath(new URL("../../packages/server/dist/bin.js", import.meta.url));
const grpcJsBin = fileURLToPath(new URL("../servers/grpc-js.mjs", import.meta.url));

/** Milliseconds from spawn to a stdout line containing "listening on"; then kills it. */
function timeToListen(script, args, pin) {
  const argv = [script, ...args];
  const t0 = performance.now();
  const child = pin
    ? spawn("taskset", ["-c", "0", process.execPath, ...argv], { stdio: ["ignore", "pipe", "inherit"] })
    : spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${script} did not listen within 30 s`));
    }, 30_000);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      if (!out.includes("listening on")) return;
      const ms = performance.now() - t0;
      clearTimeout(timer);
      child.once("exit", () => resolve({ readyMs: ms }));
      child.kill("SIGTERM");
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (!out.includes("listening on")) reject(new Error(`${script} exited ${code} before listening`));
    });
  });
}

/** baton-server start time vs a bare grpc-js server's. */
export async function startup({ cfg, pin }) {
  const [b, p] = await alternate(
    [
      { name: "baton-server", measure: () => timeToListen(batonBin, ["--listen", "127.0.0.1:0", "--quiet"], pin) },
      { name: "grpc-js", measure: () => timeToListen(grpcJsBin, [], pin) },
    ],
    cfg.quick ? 1 : Math.max(cfg.rounds, 3),
  );
  addRow({
    section: "Startup: spawn to listening",
    name: "baton-server (every module) vs bare grpc-js server",
    unit: "ms",
    better: "lower",
    baton: b.readyMs,
    peer: p.readyMs,
    peerName: "bare grpc-js server",
    spread: b.readyMsSpread,
    target: 1.5,
  });
}
