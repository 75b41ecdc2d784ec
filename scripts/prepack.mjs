// `prepack` of every published package (pnpm pack and pnpm publish run it in the package's
// directory): copies the repo's LICENSE into the package, and for a client package the
// contract files its system is defined by, so they ship in the tarball:
//   - gRPC clients: `proto/` = the system's buf module root merged with the google.rpc
//     error details, so `grpcurl -import-path node_modules/@baton/orca/proto -proto
//     orca/v1/orca_v1.proto ...` (or Postman's import) works with the import paths as written;
//   - @baton/portarium: `openapi/portarium-control-plane.v1.yaml`.
// The copies are build output (gitignored), rewritten from the repo's files on every pack.
import { cpSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;

/** What each package ships besides its code: `[directory in the package, repo sources]`. */
export const contractFiles = {
  "@baton/orca": ["proto", ["proto/orca", "proto/google-rpc"]],
  "@baton/baaaht": ["proto", ["proto/baaaht", "proto/google-rpc"]],
  "@baton/edgemesh": ["proto", ["proto/edgemesh", "proto/google-rpc"]],
  "@baton/stratavore": ["proto", ["proto/stratavore", "proto/google-rpc"]],
  "@baton/portarium": ["openapi", ["openapi"]],
};

/** Copies LICENSE and the package's contract files into `dir` (a package directory). */
export function prepack(dir) {
  const { name } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  cpSync(join(root, "LICENSE"), join(dir, "LICENSE"));
  const entry = contractFiles[name];
  if (!entry) return;
  const [target, sources] = entry;
  rmSync(join(dir, target), { recursive: true, force: true });
  for (const src of sources) {
    const from = join(root, src);
    if (!existsSync(from)) throw new Error(`${name}: ${src} does not exist`);
    cpSync(from, join(dir, target), { recursive: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) prepack(process.cwd());
