// The workspace's package graph, read from every package.json the workspace globs match:
// no dependency cycle (of any kind: dependencies, devDependencies, peer and optional ones),
// and the layering DESIGN.md asks for: generated code and schemas live in @baton/wire,
// which clients and server both depend on, and the server depends on no client package.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

const repo = fileURLToPath(new URL("..", import.meta.url));

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const depFields = ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"] as const;

/** Every workspace package (pnpm-workspace.yaml's `dir/*` globs), by directory relative to the repo. */
function workspacePackages(): Map<string, Manifest> {
  const { packages: globs } = parseYaml(readFileSync(join(repo, "pnpm-workspace.yaml"), "utf8")) as {
    packages: string[];
  };
  const found = new Map<string, Manifest>();
  for (const glob of globs) {
    expect(glob, "only `dir/*` globs are supported here").toMatch(/^[\w.-]+\/\*$/);
    const parent = join(repo, glob.slice(0, -2));
    for (const name of readdirSync(parent).sort()) {
      const manifest = join(parent, name, "package.json");
      if (existsSync(manifest)) {
        found.set(relative(repo, join(parent, name)), JSON.parse(readFileSync(manifest, "utf8")) as Manifest);
      }
    }
  }
  return found;
}

const packages = workspacePackages();
const byName = new Map([...packages].map(([dir, m]) => [m.name, { dir, manifest: m }]));

/** Every workspace package `m` names, in any dependency field. */
function workspaceDeps(m: Manifest): string[] {
  return [...new Set(depFields.flatMap((f) => Object.keys(m[f] ?? {})))].filter((d) => byName.has(d)).sort();
}

/** The client packages: every package under packages/ but the shared layers, the server and the CLI. */
const clients = [...packages]
  .filter(([dir]) => dir.startsWith("packages/"))
  .map(([, m]) => m.name)
  .filter((n) => !["@baton/core", "@baton/wire", "@baton/server", "@baton/cli"].includes(n));

/** One dependency cycle of the graph (as a path that ends where it starts), or undefined. */
function findCycle(): string[] | undefined {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === "done") return undefined;
    if (state.get(name) === "visiting") return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, "visiting");
    stack.push(name);
    for (const dep of workspaceDeps(byName.get(name)!.manifest)) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(name, "done");
    return undefined;
  };
  for (const name of [...byName.keys()].sort()) {
    const cycle = visit(name);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Every .ts file under `dir`, skipping build output and node_modules. */
function sources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === "node_modules" || e.name === "dist" ? [] : sources(p);
    return e.name.endsWith(".ts") ? [p] : [];
  });
}

describe("workspace package graph", () => {
  it("finds the workspace's packages, including the clients, server, core and wire", () => {
    for (const name of ["@baton/core", "@baton/wire", "@baton/server", "@baton/orca"])
      expect(byName.has(name)).toBe(true);
    expect(clients).toEqual(expect.arrayContaining(["@baton/orca", "@baton/baaaht", "@baton/portarium"]));
  });

  it("has no dependency cycle", () => {
    const cycle = findCycle();
    expect(cycle, cycle?.join(" -> ")).toBeUndefined();
  });

  it("@baton/server names no client package in any dependency field or tsconfig reference", () => {
    const { dir, manifest } = byName.get("@baton/server")!;
    expect(workspaceDeps(manifest).filter((d) => clients.includes(d))).toEqual([]);
    const tsconfig = JSON.parse(readFileSync(join(repo, dir, "tsconfig.json"), "utf8")) as {
      references?: Array<{ path: string }>;
    };
    const clientDirs = clients.map((c) => resolve(repo, byName.get(c)!.dir));
    for (const ref of tsconfig.references ?? []) expect(clientDirs).not.toContain(resolve(repo, dir, ref.path));
  });

  it("@baton/server's sources and tests import no client package", () => {
    // A name missing from package.json could still resolve through the root's node_modules.
    const { dir } = byName.get("@baton/server")!;
    const imports = new RegExp(`["'](${clients.map((c) => c.replace("/", "\\/")).join("|")})(/[^"']*)?["']`);
    const offenders = [...sources(join(repo, dir, "src")), ...sources(join(repo, dir, "test"))]
      .filter((f) => imports.test(readFileSync(f, "utf8")))
      .map((f) => relative(repo, f));
    expect(offenders).toEqual([]);
  });

  it("@baton/wire depends on no workspace package, so every other package can depend on it", () => {
    expect(workspaceDeps(byName.get("@baton/wire")!.manifest)).toEqual([]);
  });

  it("@baton/cli sits on top: it depends on every client, and no workspace package depends on it", () => {
    const cli = byName.get("@baton/cli")!.manifest;
    expect(Object.keys(cli.dependencies ?? {})).toEqual(expect.arrayContaining(clients));
    const dependents = [...byName.values()]
      .filter(({ manifest }) => workspaceDeps(manifest).includes("@baton/cli"))
      .map(({ manifest }) => manifest.name);
    expect(dependents).toEqual([]);
  });

  it("every client package depends on @baton/core and @baton/wire", () => {
    for (const c of clients) {
      expect(Object.keys(byName.get(c)!.manifest.dependencies ?? {}), c).toEqual(
        expect.arrayContaining(["@baton/core", "@baton/wire"]),
      );
    }
  });
});
