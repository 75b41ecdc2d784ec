// Baton in a browser (#10.2): a page bundled from the packages' browser entries (esbuild,
// `platform: "browser"`), served by a static server on one origin, drives baton-server on
// another origin (CORS via corsOrigins) from headless Chromium: an ORCA run over gRPC-Web
// and over Connect, and a Portarium list over REST. The test reads what the page shows,
// and checks the server's state from Node. The page is type-checked against the browser
// types (no @types/node; Node-only options must not type-check).
//
// Chromium: Debian's `chromium` (`apt-get install chromium`, as .ci/run does), or
// $BATON_CHROMIUM. Missing, the test fails under CI=1 and skips locally, saying so.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { OrcaClient } from "@baton/orca";
import { PortariumClient } from "@baton/portarium";
import { type BatonServer, createOrcaModule, createPortariumModule, startServer } from "@baton/server";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script, no types
import { bundleForBrowser } from "../scripts/browser-bundle.mjs";

const executablePath = process.env.BATON_CHROMIUM ?? "/usr/bin/chromium";
const haveChromium = existsSync(executablePath);
const inCi = Boolean(process.env.CI);
if (!haveChromium && !inCi) {
  console.warn(
    `browser.test.ts: SKIPPED, no Chromium at ${executablePath} (apt-get install chromium, or set BATON_CHROMIUM); under CI=1 this fails instead`,
  );
}

const pageDir = fileURLToPath(new URL("./browser/page/", import.meta.url));
const repo = fileURLToPath(new URL("..", import.meta.url));
const ACCOUNTS = "demo:s3cret:ws-a";

/** Serves the page (`/`) and its bundle (`/page.js`). */
async function staticServer(bundle: string): Promise<{ origin: string; close(): Promise<void> }> {
  const html =
    '<!doctype html><meta charset="utf-8"><title>Baton</title><script type="module" src="/page.js"></script>';
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/") res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(html);
    else if (path === "/page.js") res.writeHead(200, { "content-type": "text/javascript" }).end(bundle);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe.skipIf(!haveChromium && !inCi)("Baton in headless Chromium", () => {
  let browser: Browser;
  let site: Awaited<ReturnType<typeof staticServer>>;
  let api: BatonServer;
  let noCors: BatonServer;

  beforeAll(async () => {
    if (!haveChromium) {
      throw new Error(`no Chromium at ${executablePath}: apt-get install chromium (or set BATON_CHROMIUM)`);
    }
    const { code, errors, nodeImports } = await bundleForBrowser('import "./main.ts";', { resolveDir: pageDir });
    expect(errors).toEqual([]);
    expect(nodeImports).toEqual([]);
    site = await staticServer(code);
    const modules = [createOrcaModule, createPortariumModule];
    const settings = { "portarium.serviceAccounts": ACCOUNTS };
    api = await startServer({ listen: ["127.0.0.1:0"], modules, settings, corsOrigins: [site.origin] });
    noCors = await startServer({ listen: ["127.0.0.1:0"], modules, settings });
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await noCors?.close();
    await site?.close();
  });

  /** Opens the page against `server` and returns what it shows, by element id. */
  async function visit(server: BatonServer, query: Record<string, string>): Promise<Record<string, string>> {
    const page = await browser.newPage();
    try {
      const search = new URLSearchParams({ api: `http://${server.addresses[0]}`, ...query });
      await page.goto(`${site.origin}/?${search}`);
      await page.waitForSelector("#done", { timeout: 20_000 });
      return await page.$$eval("output", (els) => Object.fromEntries(els.map((e) => [e.id, e.textContent ?? ""])));
    } finally {
      await page.close();
    }
  }

  it("the page type-checks against the browser types, where Node-only options do not", () => {
    // tsc exits non-zero (and prints why) on a type error, or an unused @ts-expect-error.
    execFileSync(`${repo}node_modules/.bin/tsc`, ["-p", `${pageDir}tsconfig.json`], { stdio: "pipe" });
  }, 120_000);

  it.each(["grpc-web", "connect"])("drives an ORCA run over %s: start, submit, result, events", async (protocol) => {
    const shown = await visit(api, { protocol, only: "orca" });
    expect(shown.error).toBeUndefined();
    expect(shown.done).toBe("ok");
    expect(shown["orca-run"]).toBe(`wf-browser-${protocol}`);
    expect(shown["orca-task"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(JSON.parse(shown["orca-result"] ?? "null")).toEqual({ answer: 42 });
    // The whole history, streamed to the page (server streaming over fetch).
    expect(shown["orca-events"]?.split(" ")).toEqual([
      "start_run",
      "task_enqueued",
      "task_enqueued",
      "usage_update",
      "agent_result",
    ]);
    expect(shown["orca-budget"]).toBe("100/1000");

    // The run is real server state: Node's client sees what the browser did.
    const orca = new OrcaClient({ address: api.addresses[0] as string });
    try {
      const run = orca.runs.getHandle(`wf-browser-${protocol}`);
      const result = await run.result("msg-1");
      expect(result.ok && result.payload).toEqual({ answer: 42 });
    } finally {
      await orca.close();
    }
  });

  it("lists Portarium runs over REST, pages included, a run started from Node among them", async () => {
    const portarium = new PortariumClient({
      address: `http://${api.addresses[0]}`,
      clientCredentials: { clientId: "demo", clientSecret: "s3cret" },
      workspaceId: "ws-a",
    });
    let seeded: string;
    try {
      const wf = await portarium.workflows.create({
        name: "from node",
        executionTier: "Auto",
        actions: [{ actionId: "a-1", order: 1, portFamily: "FinanceAccounting", operation: "invoice.read" }],
      });
      seeded = (await portarium.runs.start({ workflowId: wf.workflowId })).runId;
    } finally {
      await portarium.close();
    }
    const shown = await visit(api, { only: "portarium" });
    expect(shown.error).toBeUndefined();
    const listed = shown["portarium-runs"]?.split(" ").map((r) => r.split(":")[0]);
    expect(listed).toEqual(expect.arrayContaining([seeded, shown["portarium-started"]]));
    expect(listed).toHaveLength(2);
  });

  it("refuses the Node-only options in the browser with InvalidArgumentError", async () => {
    const shown = await visit(api, { only: "none" });
    expect(shown.done).toBe("ok");
    expect(shown["refusal-unix"]).toMatch(/^InvalidArgumentError: .*Unix socket, which only Node can dial/);
    expect(shown["refusal-grpc"]).toMatch(/^InvalidArgumentError: the grpc protocol needs HTTP\/2 trailers/);
    expect(shown["refusal-mtls"]).toMatch(/^InvalidArgumentError: tls settings .* are Node-only/);
    expect(shown["refusal-dial"]).toMatch(/^InvalidArgumentError: dialTimeoutMs is Node-only/);
  });

  it("fails, and says so, against a server that does not allow the page's origin", async () => {
    const shown = await visit(noCors, { protocol: "grpc-web", only: "orca" });
    expect(shown.done).toBe("error");
    // Chromium blocks the answer (no Access-Control-Allow-Origin): fetch fails, which the
    // client reports as UNAVAILABLE.
    expect(shown.error).toMatch(/^UnavailableError: could not reach .*Failed to fetch.*--cors-origin/);
    const rest = await visit(noCors, { only: "portarium" });
    expect(rest.done).toBe("error");
    expect(rest.error).toMatch(/^UnavailableError: /);
  });
});
