// Drift check: regenerate everything and fail when any generated file differs from what
// was there before (changed, new or deleted files). On a clean checkout that is what is
// committed; after a proto/OpenAPI edit it fails until `pnpm generate` has been run.
//
// It regenerates in place, by design: `scripts/generate.mjs` empties the generated
// directories and generates them again, so a clean tree is left byte-for-byte as it was,
// and after a failure the directories hold the fresh output (stale, hand-edited, missing
// and stray files fixed), ready to review and commit. Tested in scripts/check-generated.test.ts.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { generatedDirs } from "./codegen-targets.mjs";
import { run } from "./exec.mjs";

const root = new URL("..", import.meta.url).pathname;

/** Every file under the generated directories, by path, with its content. */
function snapshot() {
  const files = new Map();
  const walk = (dir) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else files.set(relative(root, p), readFileSync(p));
    }
  };
  for (const d of generatedDirs) walk(join(root, d));
  return files;
}

const before = snapshot();
run(process.execPath, [`${root}scripts/generate.mjs`], { cwd: root });
const after = snapshot();
const drift = [];
for (const [p, content] of after) {
  if (!before.has(p)) drift.push(`new      ${p}`);
  else if (!before.get(p).equals(content)) drift.push(`changed  ${p}`);
}
for (const p of before.keys()) if (!after.has(p)) drift.push(`deleted  ${p}`);
if (drift.length > 0) {
  console.error("\nGenerated code was out of date with proto/ or openapi/:\n");
  for (const line of drift.sort()) console.error(`  ${line}`);
  console.error("\nFix: run `pnpm generate` and commit the result (it has now been regenerated in place).");
  process.exit(1);
}
console.log(`generated code is up to date (${generatedDirs.join(", ")})`);
