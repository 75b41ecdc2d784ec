import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// A fresh process (this one has loaded everything already): start the server, list which of
// the lazily loaded CommonJS packages are in the module cache, then send one request that
// needs schema validation and list them again.
const probe = `
import { createRequire } from "node:module";
const { startServer } = await import(process.argv[2]);
const cache = createRequire(import.meta.url).cache;
const loaded = () => [...new Set(Object.keys(cache).flatMap((k) => k.match(/node_modules[\\\\/](undici|ajv-formats|ajv)[\\\\/]/)?.[1] ?? []))].sort();
const server = await startServer({ listen: ["127.0.0.1:0"] });
const atStart = loaded();
const res = await fetch("http://" + server.addresses[0] + "/v1/auth/token", {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ clientId: 5 }),
});
const problem = await res.json();
console.log(JSON.stringify({ atStart, status: res.status, problem, afterValidation: loaded() }));
await server.close();
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "baton-lazy-"));
  writeFileSync(join(dir, "probe.mjs"), probe);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("server startup", () => {
  it("loads neither undici nor ajv until a request needs them, and validates with ajv then", async () => {
    const entry = pathToFileURL(join(import.meta.dirname, "../dist/index.js")).href;
    const { stdout } = await promisify(execFile)(process.execPath, [join(dir, "probe.mjs"), entry], {
      timeout: 30_000,
    });
    const out = JSON.parse(stdout) as {
      atStart: string[];
      status: number;
      problem: { errors?: Record<string, string[]> };
      afterValidation: string[];
    };
    expect(out.atStart).toEqual([]);
    expect(out.status).toBe(400);
    expect(out.problem.errors).toMatchObject({ "/clientId": ["must be string"], "/clientSecret": ["is required"] });
    expect(out.afterValidation).toEqual(["ajv", "ajv-formats"]);
  });
});
