// Regenerates every generated file: protoc-gen-es for each buf module, openapi-typescript
// for each OpenAPI document. Output is deterministic so the drift check can compare it.

import { bufTargets, openapiTargets } from "./codegen-targets.mjs";
import { bin, run } from "./run.mjs";

const root = new URL("..", import.meta.url).pathname;
// buf resolves `local: protoc-gen-es` on PATH.
const env = { ...process.env, PATH: `${root}node_modules/.bin:${process.env.PATH}` };

for (const t of bufTargets) {
  run(bin("buf"), ["generate", t.module, "--template", "buf.gen.yaml", "-o", t.pkg], { cwd: root, env });
  console.log(`generated ${t.pkg}/src/gen from ${t.module}`);
}
for (const t of openapiTargets) {
  run(bin("openapi-typescript"), [t.spec, "-o", t.out, "--root-types", "--alphabetize"], { cwd: root, env });
}
