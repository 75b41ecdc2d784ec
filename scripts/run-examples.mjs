// Runs every example against a real baton-server process, as a user would.
//
// Each examples/<name>/package.json may carry a "baton" block:
//   "baton": { "serverArgs": ["--listen", "unix://{tmp}/x.sock"], "env": { "ORCA_ADDR": "{address0}" } }
// The runner starts `baton-server` with serverArgs ({tmp} is a fresh temp dir), waits for
// the addresses it prints, sets env ({addressN} is the Nth printed address, {tmp} as above),
// and runs the example's `start` script. An example without the block is run as is.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const serverBin = join(root, "packages/server/dist/bin.js");
const only = process.argv.slice(2);
const examples = readdirSync(join(root, "examples"))
  .filter((d) => existsSync(join(root, "examples", d, "package.json")))
  .filter((d) => only.length === 0 || only.includes(d))
  .sort();

function startServer(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [serverBin, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    const addresses = [];
    let buf = "";
    const timer = setTimeout(() => reject(new Error("baton-server did not start within 15 s")), 15_000);
    child.stdout.on("data", (chunk) => {
      buf += chunk;
      for (const m of buf.matchAll(/listening on (\S+)/g)) if (!addresses.includes(m[1])) addresses.push(m[1]);
      const wanted = args.filter((a) => a === "--listen").length || 1;
      if (addresses.length >= wanted) {
        clearTimeout(timer);
        resolve({ child, addresses });
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`baton-server exited with ${code} before listening`));
    });
  });
}

let failed = 0;
for (const name of examples) {
  const dir = join(root, "examples", name);
  const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  if (!pkg.scripts?.start) continue;
  const tmp = mkdtempSync(join(tmpdir(), `baton-${name}-`));
  const fill = (s, addresses = []) =>
    s.replaceAll("{tmp}", tmp).replace(/\{address(\d+)\}/g, (_, i) => addresses[Number(i)] ?? "");
  let server;
  try {
    const cfg = pkg.baton;
    if (cfg?.serverArgs) server = await startServer(cfg.serverArgs.map((a) => fill(a)));
    const env = { ...process.env };
    for (const [k, v] of Object.entries(cfg?.env ?? {})) env[k] = fill(v, server?.addresses);
    console.log(`\n--- example ${name}${server ? ` (baton-server on ${server.addresses.join(", ")})` : ""}`);
    const [cmd, ...args] = pkg.scripts.start.split(" ");
    const bin = existsSync(join(root, "node_modules/.bin", cmd)) ? join(root, "node_modules/.bin", cmd) : cmd;
    const r = spawnSync(bin, args, { cwd: dir, env, stdio: "inherit", timeout: 120_000 });
    if (r.status !== 0) {
      console.error(`example ${name} failed (${r.error?.message ?? `exit ${r.status}`})`);
      failed++;
    }
  } catch (err) {
    console.error(`example ${name}: ${err.message}`);
    failed++;
  } finally {
    if (server) {
      const exited = new Promise((r) => server.child.once("exit", r));
      server.child.kill("SIGTERM");
      await exited;
    }
    rmSync(tmp, { recursive: true, force: true });
  }
}
if (failed) process.exit(1);
console.log(`\n${examples.length} example(s) passed`);
