// The unit tests, and one integration file per client against a real baton-server, under
// each other supported Node major (the one running this script is covered by the full
// suite). The Node binaries come from the npm registry's `node` package (a binary shipped
// inside a registry package), pinned here, so a machine with only Node 20 and npm runs it.
// The whole suite three times over would cost ~10 minutes on two cores; this subset is
// what tells a Node difference (node:http2, sockets, TLS, timers, streams) from the rest.
import { bin, capture, run } from "./exec.mjs";

/** The other Node versions CI runs, besides the one running the full suite. */
export const NODE_VERSIONS = ["22.23.3", "24.9.0"];

/**
 * What runs under each (vitest filters: path substrings of vitest.config.ts's files): every
 * unit test (the tests beside the code in packages/<name>/src, and scripts/), and one
 * integration file per client package, the core connection tests and baton-server's bin.
 */
export const MATRIX_TESTS = [
  "/src/",
  "scripts/",
  "packages/core/test/connection.test.ts",
  "packages/orca/test/orca.test.ts",
  "packages/baaaht/test/sessions.test.ts",
  "packages/portarium/test/portarium.test.ts",
  "packages/edgemesh/test/edgemesh.test.ts",
  "packages/stratavore/test/stratavore.test.ts",
  "packages/server/test/bin.test.ts",
];

const root = new URL("..", import.meta.url).pathname;
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const only = process.argv.slice(2);
for (const version of only.length > 0 ? only : NODE_VERSIONS) {
  const node = capture(npm, ["exec", "--yes", "--package", `node@${version}`, "--", "node", "-p", "process.execPath"], {
    cwd: root,
  }).trim();
  const got = capture(node, ["--version"]).trim();
  if (got !== `v${version}`) throw new Error(`asked for Node ${version}, got ${got} (${node})`);
  console.log(`--- Node ${got}: vitest ${MATRIX_TESTS.join(" ")}`);
  run(node, [bin("vitest").replace(/\.bin\/vitest$/, "vitest/vitest.mjs"), "run", ...MATRIX_TESTS], { cwd: root });
}
