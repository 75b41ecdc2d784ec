// Checks the tarballs users would install: packs every published package into a temp dir
// (scripts/pack.mjs), then for each tarball
//   - its files: LICENSE, README.md and CHANGELOG.md present, no test files, and for a client
//     package every contract file of its system (scripts/prepack.mjs);
//   - its package.json: license, repository with directory, homepage, bugs, keywords,
//     publishConfig.access public, no `workspace:` ranges left;
//   - publint --strict (warnings are errors) and `attw --profile esm-only` on the tarball.
// Exits non-zero listing every problem.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { bin, capture, run } from "./exec.mjs";
import { packAll } from "./pack.mjs";
import { contractFiles } from "./prepack.mjs";

const root = new URL("..", import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), "baton-pack-"));
const problems = [];

/** Every file under `dir`, relative to it. */
function walk(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name), base) : [relative(base, join(dir, e.name))],
  );
}

try {
  for (const p of packAll(tmp)) {
    const name = p.pkg.name;
    const fail = (msg) => problems.push(`${name}: ${msg}`);
    const files = capture("tar", ["-tzf", p.tarball])
      .split("\n")
      .filter(Boolean)
      .map((f) => f.replace(/^package\//, ""));
    for (const f of ["LICENSE", "README.md", "CHANGELOG.md", "package.json"]) {
      if (!files.includes(f)) fail(`${f} is not in the tarball`);
    }
    for (const f of files) {
      if (/(^|\/)(test|tests|__tests__)\/|\.(test|spec)\.[cm]?[jt]sx?$|\.tsbuildinfo$/.test(f)) {
        fail(`test or build-state file in the tarball: ${f}`);
      }
    }
    const contracts = contractFiles[name];
    if (contracts) {
      const [target, sources] = contracts;
      for (const src of sources) {
        for (const f of walk(join(root, src))) {
          if (!files.includes(`${target}/${f}`)) fail(`${src}/${f} is not shipped as ${target}/${f}`);
        }
      }
    }
    const out = join(tmp, p.name);
    run("mkdir", ["-p", out]);
    run("tar", ["-xzf", p.tarball, "-C", out]);
    const packed = JSON.parse(readFileSync(join(out, "package/package.json"), "utf8"));
    if (packed.license !== "Apache-2.0") fail(`license is ${packed.license}, not Apache-2.0`);
    const repo = packed.repository;
    if (typeof repo?.url !== "string" || repo.directory !== `packages/${p.name}`) {
      fail(`repository must have a url and directory "packages/${p.name}"`);
    }
    if (typeof packed.homepage !== "string") fail("no homepage");
    if (typeof packed.bugs?.url !== "string") fail("no bugs.url");
    if (!Array.isArray(packed.keywords) || packed.keywords.length === 0) fail("no keywords");
    if (packed.publishConfig?.access !== "public") fail('publishConfig.access is not "public"');
    if (typeof packed.description !== "string") fail("no description");
    for (const field of ["dependencies", "peerDependencies", "optionalDependencies"]) {
      for (const [dep, range] of Object.entries(packed[field] ?? {})) {
        if (String(range).startsWith("workspace:")) fail(`${field}.${dep} is still ${range}`);
      }
    }
    console.log(`--- ${name}: ${files.length} files; publint, attw`);
    const publint = run(bin("publint"), ["run", p.tarball, "--strict"], { allowFailure: true });
    if (publint !== 0) fail("publint failed (above)");
    const attw = run(bin("attw"), [p.tarball, "--profile", "esm-only", "--format", "table-flipped"], {
      allowFailure: true,
    });
    if (attw !== 0) fail("attw --profile esm-only failed (above)");
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
if (problems.length > 0) {
  console.error(`\npack-check: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  process.exit(1);
}
console.log("\npack-check: every tarball is complete, publint and attw clean");
