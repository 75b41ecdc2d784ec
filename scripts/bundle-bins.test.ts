import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without types
import { BINS } from "./bundle-bins.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));

describe("bundled bins", () => {
  for (const [dir] of BINS as [string, string][]) {
    const pkg = JSON.parse(readFileSync(`${root}${dir}/package.json`, "utf8")) as {
      name: string;
      version: string;
      bin: Record<string, string>;
    };
    const [binName, binPath] = Object.entries(pkg.bin)[0] as [string, string];

    it(`${pkg.name}'s ${binName} is one module that imports only Node built-ins`, () => {
      const text = readFileSync(`${root}${dir}/${binPath}`, "utf8");
      const imports = [...text.matchAll(/^import\s[^;]*?from\s+"([^"]+)"|^import\s+"([^"]+)"/gm)].map(
        (m) => m[1] ?? m[2],
      );
      expect(imports.length).toBeGreaterThan(0);
      expect(imports.filter((s) => !s?.startsWith("node:"))).toEqual([]);
      // No dynamic import of a relative module or a package either: what it loads later goes
      // through `require` (ajv, undici), resolved from the package's own dependencies.
      expect(text).not.toMatch(/\bimport\(\s*["'](\.|@baton)/);
    });

    it(`${pkg.name}'s ${binName} runs and reports the package's version`, () => {
      const out = execFileSync(process.execPath, [`${root}${dir}/${binPath}`, "--version"], { encoding: "utf8" });
      expect(out.trim().endsWith(pkg.version)).toBe(true);
    });
  }
});
