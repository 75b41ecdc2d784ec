// Everything `npm test` checks, in order, stopping at the first failure: lint and format,
// OpenAPI validation, the generated-code drift check, wire compatibility with the
// contracts, type-checking of tests, every unit and integration test, every example
// against a real baton-server, the packed tarballs, the API docs (TSDoc on every export), a
// fresh app installing them, and the unit tests under Node 22 and 24, and a quick run of the bench.
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
  ["browser bundles (no node: imports in the browser entries)", node, ["scripts/browser-bundle.mjs"]],
  ["examples", node, ["scripts/run-examples.mjs"]],
  ["tarballs (files, metadata, publint, attw)", node, ["scripts/pack-check.mjs"]],
  // `pnpm docs`: the TypeDoc site over every public entry point, into the ignored docs/api.
  // Warnings are errors, so an exported hand-written symbol (or member) without TSDoc, or a
  // broken {@link}, fails CI here.
  ["API docs (typedoc, 0 warnings)", node, ["scripts/docs.mjs"]],
  ["fresh app (npm install of the tarballs, strict tsc, one call per client)", node, ["scripts/fresh-app.mjs"]],
  ["Node 22 and 24 (unit tests and one integration file per client)", node, ["scripts/node-matrix.mjs"]],
  // Checks that the bench runs end to end (small counts); it asserts no timing.
  ["bench (quick)", node, ["bench/run.mjs", "--quick"]],
];
for (const [name, cmd, args] of steps) {
  if (cmd === node && !existsSync(`${root}${args[0]}`)) continue;
  console.log(`\n=== ${name}`);
  run(cmd, args, { cwd: root });
}
console.log("\nall checks passed");
