// Checks every buf module against the wire contract of the real system it mirrors, with
// the shared tool in ../shared/tools/wire-check.mjs. The contracts live beside the repo, not
// in it: without them this prints that plainly and exits 0, unless --require is given
// (as .ci/run does), in which case their absence is a failure.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, run } from "./exec.mjs";

const root = new URL("..", import.meta.url).pathname;
const shared = process.env.BATON_SHARED_DIR ?? join(root, "..", "shared");
const tool = join(shared, "tools", "wire-check.mjs");

/** buf module, contract file, and the packages of the contract it must match. */
export const wireTargets = [
  { module: "proto/orca", contract: "orca.contract.json", only: [] },
  {
    module: "proto/baaaht",
    contract: "baaaht.contract.json",
    only: ["common.v1", "orchestrator.v1", "agent.v1", "gateway.v1"],
  },
  { module: "proto/baaaht", contract: "baaaht.contract.json", only: ["llm.v1", "tool.v1"] },
  { module: "proto/edgemesh", contract: "edgemesh.contract.json", only: [] },
];

if (!existsSync(tool)) {
  const msg = `wire-check: contracts not found at ${shared} (set BATON_SHARED_DIR)`;
  if (process.argv.includes("--require")) {
    console.error(`${msg}: failing because --require was given`);
    process.exit(1);
  }
  console.log(`${msg}: skipped`);
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), "baton-wire-"));
try {
  for (const t of wireTargets) {
    const image = join(dir, `${t.module.replaceAll("/", "_")}.json`);
    run(bin("buf"), ["build", t.module, "-o", image], { cwd: root });
    process.stdout.write(`wire-check ${t.module} vs ${t.contract}${t.only.length ? ` (${t.only.join(" ")})` : ""}: `);
    run(
      process.execPath,
      [tool, image, join(shared, "contracts", t.contract), ...(t.only.length ? ["--only", ...t.only] : [])],
      {
        cwd: root,
      },
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
