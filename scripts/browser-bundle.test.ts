// The browser-bundle check: every browser entry bundles for browsers with no Node import,
// and the check does catch one (a module of a fixture package importing node:crypto).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script, no types
import { bundleForBrowser, checkBrowserEntries } from "./browser-bundle.mjs";

const dir = mkdtempSync(join(tmpdir(), "baton-browser-bundle-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("browser entries", () => {
  it("every client package and core bundle for browsers without a node: import", async () => {
    expect(await checkBrowserEntries()).toEqual([]);
  });

  it("the browser build of @baton/core is the one a browser bundle gets (connect-web, not connect-node)", async () => {
    const { code, nodeImports } = await bundleForBrowser(
      'export { Connection } from "@baton/core"; export { OrcaClient } from "@baton/orca";',
    );
    expect(nodeImports).toEqual([]);
    expect(code).toContain("which browsers do not expose");
    expect(code).not.toContain("Http2SessionManager");
  });

  it("reports a node: import reachable from an entry, with the module importing it", async () => {
    const pkg = join(dir, "node_modules", "leaky");
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "leaky", type: "module", exports: "./index.js" }));
    writeFileSync(join(pkg, "index.js"), 'export { helper } from "./helper.js";\n');
    writeFileSync(
      join(pkg, "helper.js"),
      'import { randomUUID } from "node:crypto";\nexport const helper = randomUUID;\n',
    );
    const { nodeImports } = await bundleForBrowser('export * from "leaky";', { resolveDir: dir });
    expect(nodeImports).toEqual([{ path: "node:crypto", importer: join(pkg, "helper.js") }]);
  });
});
