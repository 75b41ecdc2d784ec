// `pnpm soak` in quick mode (BATON_SOAK_QUICK=1, 5 s here): the script runs against a real
// baton-server child, reports the health series, RSS and event-loop delay, and passes.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

it("pnpm soak (quick): the server answers throughout and the report has every series", async () => {
  const script = fileURLToPath(new URL("./soak.mjs", import.meta.url));
  const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, BATON_SOAK_QUICK: "1", BATON_SOAK_SECONDS: "5" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.stderr.on("data", (d) => {
      out += d;
    });
    child.on("exit", (c) => resolve({ code: c, out }));
  });
  expect(code, out).toBe(0);
  const line = out.split("\n").find((l) => l.startsWith("soak: report "));
  const report = JSON.parse(line?.slice("soak: report ".length) ?? "{}");
  expect(report.health.checks).toBeGreaterThan(0);
  expect(report.health.failed).toBe(0);
  expect(report.health.series.length).toBe(report.health.checks);
  expect(report.streams.opened).toBe(200);
  expect(report.streams.openAtEnd).toBe(200);
  expect(report.rssMb.max).toBeGreaterThan(0);
  expect(report.loopDelayMs.max).toBeGreaterThanOrEqual(0);
  expect(report.server.exitedCleanlyOnSigterm).toBe(true);
}, 60_000);
