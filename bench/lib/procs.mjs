// Child processes of the bench: servers started on their own core (`taskset`), talked to
// over Node's IPC channel (ready message, CPU usage, close).
import { execFileSync, spawn } from "node:child_process";
import { availableParallelism } from "node:os";

/** Whether client and servers can be pinned to separate cores (Linux `taskset`, at least 2 cores). */
export function canPin() {
  if (availableParallelism() < 2) return false;
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Pins this process (every thread) to `core`. */
export function pinSelf(core) {
  execFileSync("taskset", ["-a", "-cp", String(core), String(process.pid)], { stdio: "ignore" });
}

/**
 * Starts `script` (a bench server) in its own process, pinned to `core` when `pin`, and
 * resolves once it reports `{ type: "ready" }`. The result's `ask(op)` sends a request over
 * IPC and resolves with the answer; `close()` asks it to stop and waits for it to exit.
 * `nodeArgs` go to node before the script (`--cpu-prof` to profile a server).
 */
export function startProcess(script, { pin, core = 0, args = [], nodeArgs = [], env = {}, readyTimeoutMs = 30_000 }) {
  const argv = [...nodeArgs, script, ...args];
  const t0 = performance.now();
  const child = pin
    ? spawn("taskset", ["-c", String(core), process.execPath, ...argv], {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        env: { ...process.env, ...env },
      })
    : spawn(process.execPath, argv, {
        stdio: ["ignore", "inherit", "inherit", "ipc"],
        env: { ...process.env, ...env },
      });
  let nextId = 0;
  const pending = new Map();
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${script} was not ready within ${readyTimeoutMs} ms`));
    }, readyTimeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      const err = new Error(`${script} exited (${code ?? signal})`);
      for (const { reject: fail } of pending.values()) fail(err);
      pending.clear();
      reject(err);
    });
    child.on("message", (msg) => {
      if (msg?.type === "ready") {
        clearTimeout(timer);
        const readyMs = performance.now() - t0;
        resolve({
          info: msg,
          readyMs,
          pid: child.pid,
          ask(op, extra = {}) {
            const id = ++nextId;
            return new Promise((res, rej) => {
              pending.set(id, { resolve: res, reject: rej });
              child.send({ id, op, ...extra });
            });
          },
          async close() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.send({ id: 0, op: "close" });
            const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
            await exited;
            clearTimeout(kill);
          },
        });
        return;
      }
      const waiter = pending.get(msg?.id);
      if (!waiter) return;
      pending.delete(msg.id);
      if (msg.error) waiter.reject(new Error(msg.error));
      else waiter.resolve(msg);
    });
  });
}

/**
 * The child side: reports ready with `info`, answers `cpu` with `process.cpuUsage()` (µs)
 * and memory, runs `handlers[op]` for other requests, and on `close` runs `onClose` and exits.
 */
export function serveParent(info, { onClose, handlers = {} }) {
  process.on("message", async (msg) => {
    if (msg.op === "close") {
      await onClose();
      process.exit(0);
    }
    try {
      if (msg.op === "cpu") {
        const { user, system } = process.cpuUsage();
        process.send({ id: msg.id, cpuUs: user + system, rssBytes: process.memoryUsage().rss });
        return;
      }
      const handler = handlers[msg.op];
      if (!handler) throw new Error(`unknown op ${msg.op}`);
      process.send({ id: msg.id, ...(await handler(msg)) });
    } catch (err) {
      process.send({ id: msg.id, error: err instanceof Error ? err.message : String(err) });
    }
  });
  process.on("disconnect", () => process.exit(0));
  process.send({ type: "ready", ...info });
}
