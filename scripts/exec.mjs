// Process helpers of the repo scripts: run a command (exiting when it fails), capture its output, find node_modules bins.
import { spawnSync } from "node:child_process";

/** Runs a command inheriting stdio; exits the process with its status when it fails. */
export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", ...opts });
  if (r.error) {
    console.error(`${cmd}: ${r.error.message}`);
    process.exit(1);
  }
  if (r.status !== 0 && !opts.allowFailure) process.exit(r.status ?? 1);
  return r.status ?? 1;
}

/** Runs a command and returns its stdout as text. */
export function capture(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", ...opts });
  if (r.status !== 0) {
    process.stderr.write(r.stderr ?? "");
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}`);
  }
  return r.stdout;
}

/** Local binaries (node_modules/.bin) of the repo root. */
export const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;
