// Packs every published workspace package (not `private`) with `pnpm pack`, as `pnpm
// publish` would (prepack copies LICENSE and the contract files in, `workspace:*` becomes
// the version), into a directory. Shared by scripts/pack-check.mjs and scripts/fresh-app.mjs.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "./exec.mjs";

const root = new URL("..", import.meta.url).pathname;

/** The published packages: `{ name, dir, pkg }` for each packages/* that is not private. */
export function publishedPackages() {
  return readdirSync(join(root, "packages"), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => {
      const dir = join(root, "packages", d.name);
      try {
        return { name: d.name, dir, pkg: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) };
      } catch {
        return undefined;
      }
    })
    .filter((p) => p !== undefined && !p.pkg.private);
}

/** Packs each published package into `dest`; answers `{ name, dir, pkg, tarball }` for each. */
export function packAll(dest) {
  return publishedPackages().map((p) => {
    run(process.execPath, [join(root, "scripts/pnpm.mjs"), "pack", "--pack-destination", dest], {
      cwd: p.dir,
      stdio: ["ignore", "ignore", "inherit"],
    });
    const file = `${p.pkg.name.replace(/^@/, "").replace("/", "-")}-${p.pkg.version}.tgz`;
    return { ...p, tarball: join(dest, file) };
  });
}
