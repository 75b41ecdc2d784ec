// `pnpm docs`: the API reference (TypeDoc, typedoc.json) over the public entry points of
// every published package, i.e. each `exports` entry with types, mapped from dist/*.d.ts back
// to its src/*.ts, into docs/api. typedoc.json treats warnings as errors and validates
// notDocumented, so an exported hand-written symbol without TSDoc fails the build; generated
// code is grouped by scripts/typedoc-generated.mjs. Extra arguments go to typedoc.
import { existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { bin, run } from "./exec.mjs";
import { publishedPackages } from "./pack.mjs";

const root = new URL("..", import.meta.url).pathname;
const entryPoints = [];
for (const { dir, pkg } of publishedPackages()) {
  for (const [subpath, target] of Object.entries(pkg.exports ?? {})) {
    const types = typeof target === "object" ? target.types : undefined;
    if (typeof types !== "string") continue; // ./package.json, ./proto/*: no API
    const src = join(dir, types.replace(/^\.\/dist\//, "src/").replace(/\.d\.ts$/, ".ts"));
    if (!existsSync(src)) throw new Error(`${pkg.name} exports ${subpath}: ${relative(root, src)} does not exist`);
    // A client's `./wire` (or `./schema`) is `export * from "@baton/wire/<system>"`: the same
    // module, documented once under @baton/wire (TypeDoc also fails on the duplicate).
    const code = readFileSync(src, "utf8")
      .replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "")
      .trim();
    if (/^export \* from "@baton\/wire\/[^"]+";$/.test(code)) continue;
    entryPoints.push(relative(root, src));
  }
}
if (process.env.DOCS_LIST) {
  console.log(entryPoints.join("\n"));
  process.exit(0);
}
run(
  bin("typedoc"),
  ["--options", "typedoc.json", ...entryPoints.flatMap((e) => ["--entryPoints", e]), ...process.argv.slice(2)],
  {
    cwd: root,
  },
);
