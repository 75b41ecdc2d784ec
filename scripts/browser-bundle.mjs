// Bundles the browser entries of the Baton packages with esbuild (`platform: "browser"`, so
// the `browser` export condition is the one resolved) and fails on any `node:` import or
// Node built-in reachable from them. Run on its own (`node scripts/browser-bundle.mjs`, a
// step of check.mjs); the Chromium test bundles its page with `bundleForBrowser` too.
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The packages that must have a browser entry: the client packages and the core they share. */
export const BROWSER_PACKAGES = [
  "@baton/core",
  "@baton/orca",
  "@baton/baaaht",
  "@baton/portarium",
  "@baton/stratavore",
  "@baton/edgemesh",
];

const builtins = new Set(builtinModules);
const isNodeBuiltin = (path) => path.startsWith("node:") || builtins.has(path) || builtins.has(path.split("/")[0]);

/**
 * Bundles `contents` (an ES module, resolved from `resolveDir`) for browsers. Every `node:`
 * import and Node built-in met on the way is reported, with the module that imports it,
 * instead of being bundled.
 *
 * @returns the bundle's text (or `write`s it to `outfile`), the esbuild errors, and the Node
 *   imports found.
 */
export async function bundleForBrowser(contents, { resolveDir = root, outfile, write = false, minify = false } = {}) {
  const nodeImports = [];
  const result = await esbuild
    .build({
      stdin: { contents, resolveDir, sourcefile: "entry.js", loader: "js" },
      bundle: true,
      platform: "browser",
      format: "esm",
      target: "es2022",
      write,
      minify,
      logLevel: "silent",
      ...(outfile ? { outfile } : {}),
      plugins: [
        {
          name: "no-node-imports",
          setup(build) {
            build.onResolve({ filter: /.*/ }, (args) => {
              if (!isNodeBuiltin(args.path)) return undefined;
              nodeImports.push({ path: args.path, importer: args.importer });
              return { path: args.path, external: true };
            });
          },
        },
      ],
    })
    .catch((err) => ({ errors: err.errors ?? [{ text: String(err) }], outputFiles: [] }));
  return {
    code: result.outputFiles?.[0]?.text ?? "",
    errors: result.errors.map((e) => `${e.location ? `${e.location.file}:${e.location.line}: ` : ""}${e.text}`),
    nodeImports,
  };
}

/** The JavaScript subpaths a package exports (`.`, `./wire`, ...), not its `.proto`/OpenAPI files. */
export function exportedEntries(name) {
  const manifest = JSON.parse(readFileSync(`${root}packages/${name.replace("@baton/", "")}/package.json`, "utf8"));
  return Object.entries(manifest.exports)
    .filter(([subpath, target]) => typeof target === "object" && !subpath.includes("*"))
    .map(([subpath, target]) => ({ specifier: subpath === "." ? name : `${name}/${subpath.slice(2)}`, target }));
}

/**
 * Checks every browser package: its `.` export has a `browser` condition, and each of its
 * entries bundles for browsers without errors and without a Node import.
 *
 * @returns one line per problem (empty: all clean).
 */
export async function checkBrowserEntries(packages = BROWSER_PACKAGES) {
  const problems = [];
  for (const name of packages) {
    const entries = exportedEntries(name);
    const main = entries.find((e) => e.specifier === name);
    if (!main?.target.browser) problems.push(`${name}: its "." export has no "browser" condition`);
    for (const { specifier } of entries) {
      const { errors, nodeImports } = await bundleForBrowser(`export * from ${JSON.stringify(specifier)};`);
      for (const e of errors) problems.push(`${specifier}: ${e}`);
      for (const n of nodeImports) {
        problems.push(`${specifier}: imports ${n.path} (from ${n.importer.replace(root, "")})`);
      }
    }
  }
  return problems;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = await checkBrowserEntries();
  if (problems.length > 0) {
    console.error(`browser entries are not browser-safe:\n  ${problems.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`browser entries of ${BROWSER_PACKAGES.join(", ")}: bundled, no node: imports`);
}
