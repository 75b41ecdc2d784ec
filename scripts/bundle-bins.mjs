// Bundles the two command-line entries, `baton-server` (@baton/server) and `baton`
// (@baton/cli), each into one ES module at the package's `dist/bin.js` (the file its `bin`
// names), after `tsc -b` has built every package. A process that starts from one file reads
// and links one module instead of several hundred (the packages' own, @baton/wire's
// generated code, connect-es, protobuf-es): `pnpm bench`'s startup suite measures the
// difference. The libraries (`dist/index.js`) stay unbundled.
//
// What is loaded on first use with `require` stays outside the bundle and is resolved from the
// package at run time (ajv for Portarium's validators, undici for HTTP/1.1 REST), so each of
// those is a dependency of the package whose bin needs it.
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The bundled entries: `[package directory, entry source]`. */
export const BINS = [
  ["packages/server", "src/bin.ts"],
  ["packages/cli", "src/bin.ts"],
];

/** Builds each bin; rejects with esbuild's errors. */
export async function bundleBins() {
  for (const [dir, entry] of BINS) {
    await esbuild.build({
      absWorkingDir: `${root}${dir}`,
      entryPoints: [entry],
      outfile: "dist/bin.js",
      allowOverwrite: true,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20.19",
      sourcemap: true,
      sourcesContent: false,
      // Modules written for CommonJS call `require`; ESM has none, so the bundle makes one.
      banner: {
        js: 'import { createRequire as __batonCreateRequire } from "node:module";\nconst require = __batonCreateRequire(import.meta.url);',
      },
      logLevel: "warning",
    });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await bundleBins().catch((err) => {
    console.error(`bundle-bins: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
