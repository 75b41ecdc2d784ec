// Drift check: regenerate everything, then fail when any generated file differs from what
// is committed (changed, new or deleted files all show in `git status --porcelain`).

import { generatedDirs } from "./codegen-targets.mjs";
import { capture, run } from "./run.mjs";

const root = new URL("..", import.meta.url).pathname;
run(process.execPath, [`${root}scripts/generate.mjs`], { cwd: root });
const status = capture("git", ["status", "--porcelain", "--untracked-files=all", "--", ...generatedDirs], {
  cwd: root,
});
if (status.trim() !== "") {
  console.error("\nGenerated code is out of date with proto/ or openapi/:\n");
  console.error(status);
  console.error(capture("git", ["--no-pager", "diff", "--stat", "--", ...generatedDirs], { cwd: root }));
  console.error("Fix: run `pnpm generate` and commit the result.");
  process.exit(1);
}
console.log(`generated code is up to date (${generatedDirs.join(", ")})`);
