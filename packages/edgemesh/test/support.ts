import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BatonServer, type Clock, startServer } from "@baton/server";

/** A temp directory removed by the returned cleanup. */
export function tempDir(prefix = "baton-edgemesh-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts one edgemesh device (a whole baton-server) on loopback with the given settings. */
export function startDevice(settings: Record<string, string>, clock?: Clock): Promise<BatonServer> {
  return startServer({ listen: ["127.0.0.1:0"], settings, ...(clock ? { clock } : {}) });
}

/**
 * A tiny Ollama-style endpoint (`POST /api/generate`) for tests: it answers every prompt
 * with `model:<prompt>`. With `barrier` n, it holds answers until n requests are in flight
 * at once (or `releaseAfterMs` passes, answering `alone:<prompt>` then), which proves that
 * tasks ran concurrently without measuring time.
 */
export async function fakeModel(
  opts: { barrier?: number; releaseAfterMs?: number } = {},
): Promise<{ url: string; prompts: string[]; close: () => Promise<void> }> {
  const prompts: string[] = [];
  let waiting: Array<(together: boolean) => void> = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString("utf8");
    });
    req.on("end", () => {
      const { prompt = "", model = "" } = JSON.parse(body || "{}") as { prompt?: string; model?: string };
      prompts.push(prompt);
      const answer = (together: boolean) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(
          JSON.stringify({ model, response: `${together ? model : "alone"}:${prompt}`, eval_count: 3, done: true }),
        );
      };
      const n = opts.barrier ?? 1;
      if (n <= 1) return answer(true);
      waiting.push(answer);
      if (waiting.length >= n) {
        const all = waiting;
        waiting = [];
        for (const w of all) w(true);
      } else {
        setTimeout(() => {
          const i = waiting.indexOf(answer);
          if (i >= 0) {
            waiting.splice(i, 1);
            answer(false);
          }
        }, opts.releaseAfterMs ?? 10_000);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    prompts,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
