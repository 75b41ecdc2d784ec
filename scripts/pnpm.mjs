// Runs the pnpm version pinned in package.json#packageManager, so the README commands need
// only Node and npm: inside a pnpm script it reuses that pnpm, otherwise it goes through npx.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const pinned = pkg.packageManager; // "pnpm@10.x.y"
const args = process.argv.slice(2);
const execpath = process.env.npm_execpath ?? "";
const ownPnpm =
  /pnpm/.test(execpath) && (process.env.npm_config_user_agent ?? "").startsWith(`${pinned.replace("@", "/")} `);
const r = ownPnpm
  ? spawnSync(process.execPath, [execpath, ...args], { stdio: "inherit" })
  : spawnSync("npx", ["--yes", pinned, ...args], { stdio: "inherit", shell: process.platform === "win32" });
if (r.error) {
  console.error(r.error.message);
  process.exit(1);
}
process.exit(r.status ?? 1);
