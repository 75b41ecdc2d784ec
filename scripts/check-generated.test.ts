// The drift check's failure path, against a throwaway fixture: the repo's real scripts
// (check-generated.mjs, generate.mjs, codegen-targets.mjs, ...) copied into a temp dir next
// to a tiny proto module for every buf target and a tiny OpenAPI document for every OpenAPI
// target, with node_modules linked to the repo's (buf, protoc-gen-es, openapi-typescript).
// The scripts find their root from their own location, so they run against the fixture
// exactly as they run against the repo, and the repo's files are never touched.
import { spawn } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const repo = fileURLToPath(new URL("..", import.meta.url));
const scriptsDir = join(repo, "scripts");

interface BufTarget {
  module: string;
  /** The module's own output directory (buf's `-o`); buf.gen.yaml writes to `.` under it. */
  out: string;
}
interface OpenapiTarget {
  spec: string;
  out: string;
  document?: string;
}
interface Targets {
  bufTargets: BufTarget[];
  openapiTargets: OpenapiTarget[];
  generatedDirs: string[];
}

/**
 * Bound on one run of a script. Alone, a check of every module takes a few seconds; the
 * cases run concurrently on a two-core runner next to the rest of the suite, where one
 * run was seen taking 16 s, so the bound is generous: it is there to end a hang.
 */
const RUN_TIMEOUT_MS = 120_000;

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node <script>` in `cwd` (async, killed with its children after RUN_TIMEOUT_MS). */
function runScript(cwd: string, script: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script], { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
      reject(new Error(`${script} did not finish within ${RUN_TIMEOUT_MS} ms\n${stdout}\n${stderr}`));
    }, RUN_TIMEOUT_MS);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Every file under `dir` (relative path → content), not following node_modules. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (relative(dir, p) === "node_modules") continue;
      if (statSync(p).isDirectory()) walk(p);
      else files.set(relative(dir, p), readFileSync(p, "utf8"));
    }
  };
  walk(dir);
  return files;
}

/** The files of `tree` under any of `dirs`. */
function under(tree: Map<string, string>, dirs: string[]): Map<string, string> {
  return new Map([...tree].filter(([p]) => dirs.some((d) => p.startsWith(`${d}/`))));
}

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** The proto file standing in for buf target `i`, relative to the fixture root. */
const protoOf = (t: BufTarget, i: number) => `${t.module}/fx/m${i}/v1/m${i}.proto`;
/** What protoc-gen-es makes of it. */
const protoOutOf = (t: BufTarget, i: number) => `${t.out}/fx/m${i}/v1/m${i}_pb.ts`;

let targets: Targets;
let base: string;
/** The fixture tree right after `pnpm generate`: what a clean checkout holds. */
let pristine: Map<string, string>;
const fixtures: string[] = [];

/** A fresh copy of the generated fixture. */
function fixture(): string {
  const dir = mkdtempSync(join(tmpdir(), "baton-check-generated-"));
  fixtures.push(dir);
  cpSync(base, dir, { recursive: true, filter: (src) => relative(base, src) !== "node_modules" });
  symlinkSync(join(repo, "node_modules"), join(dir, "node_modules"), "dir");
  return dir;
}

beforeAll(async () => {
  // A non-literal specifier: the .mjs module has no type declarations.
  const targetsUrl = new URL("./codegen-targets.mjs", import.meta.url).href;
  targets = (await import(targetsUrl)) as Targets;
  expect(targets.bufTargets.length).toBeGreaterThan(0);

  base = mkdtempSync(join(tmpdir(), "baton-check-generated-"));
  fixtures.push(base);
  for (const name of readdirSync(scriptsDir)) {
    if (name.endsWith(".mjs")) cpSync(join(scriptsDir, name), join(base, "scripts", name));
  }
  cpSync(join(repo, "buf.gen.yaml"), join(base, "buf.gen.yaml"));
  write(
    join(base, "buf.yaml"),
    `version: v2\nmodules:\n${targets.bufTargets.map((t) => `  - path: ${t.module}\n`).join("")}`,
  );
  targets.bufTargets.forEach((t, i) => {
    write(
      join(base, protoOf(t, i)),
      `syntax = "proto3";\n\npackage fx.m${i}.v1;\n\nmessage Ping${i} {\n  string id = 1;\n}\n\nservice Fx${i}Service {\n  rpc Ping(Ping${i}) returns (Ping${i});\n}\n`,
    );
  });
  for (const t of targets.openapiTargets) {
    write(
      join(base, t.spec),
      "openapi: 3.1.0\ninfo:\n  title: Fixture\n  version: '1'\npaths: {}\ncomponents:\n  schemas:\n    Thing:\n      type: object\n      properties:\n        id:\n          type: string\n",
    );
  }
  symlinkSync(join(repo, "node_modules"), join(base, "node_modules"), "dir");
  const gen = await runScript(base, "scripts/generate.mjs");
  expect(gen.code, gen.stderr).toBe(0);
  pristine = snapshot(base);
  // The fixture really has generated output in every generated directory.
  for (const d of targets.generatedDirs) expect(under(pristine, [d]).size, d).toBeGreaterThan(0);
  targets.bufTargets.forEach((t, i) => {
    expect(pristine.has(protoOutOf(t, i)), protoOutOf(t, i)).toBe(true);
  });
}, 2 * RUN_TIMEOUT_MS);

afterAll(() => {
  for (const dir of fixtures) {
    // Unlink first: the link points at the repo's node_modules.
    if (existsSync(join(dir, "node_modules"))) unlinkSync(join(dir, "node_modules"));
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The first generated file (sorted) of each generated directory. */
function oneFilePerDir(): string[] {
  return targets.generatedDirs.map((d) => [...under(pristine, [d]).keys()].sort()[0]!);
}

/**
 * Runs the check on a drifted fixture and asserts the failure: exit 1, the fix command, and
 * exactly the expected `label path` lines. Then asserts the documented in-place behaviour:
 * everything outside the generated dirs is untouched, and the generated dirs hold fresh
 * output: the pristine files, except that the `changed` ones, when `inputsEdited`, hold new
 * content (returned for the caller to check).
 */
async function expectDrift(dir: string, expected: string[], inputsEdited = false): Promise<Map<string, string>> {
  const before = snapshot(dir);
  const r = await runScript(dir, "scripts/check-generated.mjs");
  expect(r.code, r.stdout + r.stderr).toBe(1);
  expect(r.stderr).toContain("pnpm generate");
  const listed = r.stderr
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /^(new|changed|deleted) /.test(l))
    .map((l) => l.replace(/\s+/, " "));
  expect(listed).toEqual([...expected].sort());

  const after = snapshot(dir);
  const gen = targets.generatedDirs;
  const isGen = (p: string) => gen.some((d) => p.startsWith(`${d}/`));
  const outside = (tree: Map<string, string>) => new Map([...tree].filter(([p]) => !isGen(p)));
  expect(outside(after)).toEqual(outside(before));
  const regenerated = under(after, gen);
  const want = under(pristine, gen);
  if (inputsEdited) {
    for (const line of expected) {
      const p = line.replace(/^changed /, "");
      expect(regenerated.get(p), p).not.toEqual(want.get(p));
      want.set(p, regenerated.get(p)!);
    }
  }
  expect(regenerated).toEqual(want);
  return regenerated;
}

describe.concurrent("check-generated.mjs", { timeout: 4 * RUN_TIMEOUT_MS }, () => {
  test("generated directories are disjoint, so one target's regeneration never empties another's", () => {
    const dirs = targets.generatedDirs;
    expect(new Set(dirs).size).toBe(dirs.length);
    for (const a of dirs) for (const b of dirs) if (a !== b) expect(a.startsWith(`${b}/`), `${a} in ${b}`).toBe(false);
  });

  test("a clean tree passes and is left exactly as it was", async () => {
    const dir = fixture();
    const r = await runScript(dir, "scripts/check-generated.mjs");
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("generated code is up to date");
    expect(snapshot(dir)).toEqual(pristine);
  });

  test("a proto edit that was not regenerated fails, naming the stale file and `pnpm generate`", async () => {
    const t = targets.bufTargets[0]!;
    const dir = fixture();
    // A field added to the first buf target's proto, a property to every OpenAPI document.
    const proto = join(dir, protoOf(t, 0));
    writeFileSync(
      proto,
      readFileSync(proto, "utf8").replace("string id = 1;", "string id = 1;\n  string drift_field = 2;"),
    );
    const expected = [`changed ${protoOutOf(t, 0)}`];
    for (const o of targets.openapiTargets) {
      const spec = join(dir, o.spec);
      writeFileSync(
        spec,
        readFileSync(spec, "utf8").replace("id:\n", "driftProp:\n          type: string\n        id:\n"),
      );
      expected.push(`changed ${o.out}`);
      if (o.document) expected.push(`changed ${o.document}`);
    }
    const regenerated = await expectDrift(dir, expected, true);
    expect(regenerated.get(protoOutOf(t, 0))).toContain("driftField");
    for (const o of targets.openapiTargets) expect(regenerated.get(o.out)).toContain("driftProp");
  });

  test("a hand-edited generated file fails", async () => {
    const dir = fixture();
    const files = oneFilePerDir();
    for (const f of files) writeFileSync(join(dir, f), `${readFileSync(join(dir, f), "utf8")}// hand edit\n`);
    await expectDrift(
      dir,
      files.map((f) => `changed ${f}`),
    );
  });

  test("a stray file in a generated directory fails", async () => {
    const dir = fixture();
    const strays = targets.generatedDirs.map((d) => `${d}/stray.ts`);
    for (const f of strays) writeFileSync(join(dir, f), "export const stray = 1;\n");
    await expectDrift(
      dir,
      strays.map((f) => `deleted ${f}`),
    );
  });

  test("a deleted generated file fails", async () => {
    const dir = fixture();
    const files = oneFilePerDir();
    for (const f of files) rmSync(join(dir, f));
    await expectDrift(
      dir,
      files.map((f) => `new ${f}`),
    );
  });
});
