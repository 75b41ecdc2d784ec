// Everything `npm test` checks, in order, stopping at the first failure: lint and format,
// OpenAPI validation, the generated-code drift check, wire compatibility with the
// contracts, type-checking of tests, every unit and integration test, and every example
// against a real baton-server.
import { existsSync } from "node:fs";
import { bin, run } from "./exec.mjs";

const root = new URL("..", import.meta.url).pathname;
const node = process.execPath;
const steps = [
  ["lint (biome)", bin("biome"), ["check", "."]],
  ["lint (buf)", bin("buf"), ["lint"]],
  ["format (buf)", bin("buf"), ["format", "--diff", "--exit-code"]],
  ["openapi", node, ["scripts/validate-openapi.mjs"]],
  ["generated code", node, ["scripts/check-generated.mjs"]],
  ["wire compatibility", node, ["scripts/wire-check.mjs", ...(process.env.CI ? ["--require"] : [])]],
  ["type-check tests", bin("tsc"), ["-p", "tsconfig.test.json"]],
  ["tests", bin("vitest"), ["run"]],
  ["examples", node, ["scripts/run-examples.mjs"]],
];
for (const [name, cmd, args] of steps) {
  if (cmd === node && !existsSync(`${root}${args[0]}`)) continue;
  console.log(`\n=== ${name}`);
  run(cmd, args, { cwd: root });
}
console.log("\nall checks passed");
