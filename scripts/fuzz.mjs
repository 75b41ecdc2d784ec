// `pnpm fuzz`: a longer run of the suite's fuzz test (packages/server/test/fuzz.test.ts).
// BATON_FUZZ_ITERATIONS (default here 20 rounds over every method, protocol and HTTP
// version; the suite runs 2) and BATON_FUZZ_SEED (default random; every run prints its
// seed, and a failure names it, so `BATON_FUZZ_SEED=<seed> pnpm fuzz` replays it).
import { readdirSync } from "node:fs";
import { bin, run } from "./exec.mjs";

const env = { ...process.env, BATON_FUZZ_ITERATIONS: process.env.BATON_FUZZ_ITERATIONS ?? "20" };
const iterations = Number(env.BATON_FUZZ_ITERATIONS);
if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > 100_000) {
  console.error(`BATON_FUZZ_ITERATIONS must be an integer from 1 to 100000, got ${env.BATON_FUZZ_ITERATIONS}`);
  process.exit(2);
}
if (env.BATON_FUZZ_SEED !== undefined && !/^\d+$/.test(env.BATON_FUZZ_SEED)) {
  console.error(`BATON_FUZZ_SEED must be a non-negative integer, got ${env.BATON_FUZZ_SEED}`);
  process.exit(2);
}
const root = new URL("..", import.meta.url).pathname;
const packages = readdirSync(new URL("../packages", import.meta.url)).map((p) => `packages/${p}/tsconfig.json`);
run(bin("tsc"), ["-b", ...packages], { cwd: root });
run(bin("vitest"), ["run", "packages/server/test/fuzz.test.ts"], { cwd: root, env });
