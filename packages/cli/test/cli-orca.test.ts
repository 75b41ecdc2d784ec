// `baton orca` as a child process against an in-process baton-server: JSON and NDJSON
// output, exit codes per error class, --json from files and stdin, TLS and tokens, signals.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { EXIT } from "@baton/cli";
import { type BatonServer, createOrcaModule, startServer } from "@baton/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makePki } from "../../../test/support/tls.js";
import { baton, type CliTestServer, json, ndjson, startCliTestServer, stderrError } from "./support.js";

let t: CliTestServer;
let dir: string;
let tcp: string;

beforeAll(async () => {
  t = await startCliTestServer();
  ({ dir, tcp } = t);
});

afterAll(async () => {
  await t?.close();
});

describe("baton orca", () => {
  it("starts a run with a budget and a first task, takes a result, and prints events and the result", async () => {
    const start = await baton([
      "orca",
      "start",
      "wf-cli-1",
      "--address",
      tcp,
      "--max-tokens",
      "100",
      "--payload",
      '{"prompt":"summarise"}',
      "--tokens",
      "30",
      "--task-id",
      "t-1",
    ]);
    expect(start.code, start.stderr).toBe(0);
    expect(json(start)).toMatchObject({
      runId: "wf-cli-1",
      taskId: "t-1",
      budget: { limits: { maxTokens: 100 }, used: { tokens: 30 }, remaining: { tokens: 70 } },
    });

    // The result as a JSON file, the envelope fields as flags.
    const file = join(dir, "result.json");
    writeFileSync(file, JSON.stringify({ payload: { answer: 42 } }));
    const submit = await baton([
      "orca",
      "submit",
      "wf-cli-1",
      "--address",
      tcp,
      "--json",
      `@${file}`,
      "--kind",
      "agent_result",
      "--parent-id",
      "t-1",
    ]);
    expect(submit.code, submit.stderr).toBe(0);
    expect(json(submit)).toMatchObject({ accepted: true });

    const events = await baton(["orca", "events", "wf-cli-1", "--address", tcp]);
    expect(events.code, events.stderr).toBe(0);
    const evs = ndjson<{ id: number; kind: string; parentId: string; payload: unknown }>(events);
    expect(evs.map((e) => e.kind)).toEqual(["start_run", "task_enqueued", "usage_update", "agent_result"]);
    expect(evs.map((e) => e.id)).toEqual([1, 2, 3, 4]);
    expect(evs[3]).toMatchObject({ parentId: "t-1", payload: { answer: 42 } });
    expect(evs[0]).not.toHaveProperty("envelope");

    const two = await baton(["orca", "events", "wf-cli-1", "--address", tcp, "--from", "2", "--max", "2"]);
    expect(ndjson<{ id: number }>(two).map((e) => e.id)).toEqual([2, 3]);

    const result = await baton(["orca", "result", "wf-cli-1", "t-1", "--address", tcp]);
    expect(result.code, result.stderr).toBe(0);
    expect(json(result)).toEqual({ ok: true, kind: "agent_result", taskId: "t-1", payload: { answer: 42 } });
  });

  it("takes the task from stdin with --json -, and reads the address from $ORCA_ADDR", async () => {
    const start = await baton(["orca", "start", "wf-cli-stdin"], { env: { ORCA_ADDR: tcp } });
    expect(start.code, start.stderr).toBe(0);
    const submit = await baton(["orca", "submit", "wf-cli-stdin", "--json", "-", "--task-id", "t-s"], {
      env: { ORCA_ADDR: tcp },
      stdin: JSON.stringify({ kind: "agent_task", payload: { from: "stdin" }, usage: { tokens: 5 } }),
    });
    expect(submit.code, submit.stderr).toBe(0);
    expect(json(submit)).toEqual({ id: "t-s", accepted: true });
    const events = ndjson<{ kind: string; payload: unknown }>(
      await baton(["orca", "events", "wf-cli-stdin"], { env: { ORCA_ADDR: tcp } }),
    );
    expect(events.find((e) => e.kind === "task_enqueued")?.payload).toMatchObject({ payload: { from: "stdin" } });
  });

  it("waits for a result with --wait, and gives up with exit 6 when --timeout-ms passes first", async () => {
    await baton(["orca", "start", "wf-cli-wait", "--address", tcp, "--task-id", "t-w", "--payload", "{}"]);
    const waiting = baton(["orca", "result", "wf-cli-wait", "t-w", "--wait", "--address", tcp]);
    const submit = await baton([
      "orca",
      "submit",
      "wf-cli-wait",
      "--address",
      tcp,
      "--kind",
      "agent_error",
      "--parent-id",
      "t-w",
      "--payload",
      '"boom"',
    ]);
    expect(submit.code, submit.stderr).toBe(0);
    const waited = await waiting;
    expect(waited.code, waited.stderr).toBe(0);
    expect(json(waited)).toEqual({ ok: false, kind: "agent_error", taskId: "t-w", error: "boom" });
    // Nothing on stderr: the progress display is for terminals only.
    expect(waited.stderr).toBe("");

    const late = await baton([
      "orca",
      "result",
      "wf-cli-wait",
      "never",
      "--wait",
      "--timeout-ms",
      "200",
      "--address",
      tcp,
    ]);
    expect(late.code).toBe(EXIT.unavailable);
    expect(stderrError(late)).toMatchObject({ type: "DeadlineExceededError", code: "deadline_exceeded", exitCode: 6 });
  });

  it("exits 7 on a budget refusal, naming the limit, and 3 for an unknown run or result", async () => {
    await baton(["orca", "start", "wf-cli-budget", "--address", tcp, "--max-tokens", "10"]);
    const over = await baton(["orca", "submit", "wf-cli-budget", "--address", tcp, "--tokens", "11"]);
    expect(over.code).toBe(EXIT.budgetExceeded);
    expect(over.stdout).toBe("");
    expect(stderrError(over)).toMatchObject({
      type: "BudgetExceededError",
      code: "resource_exhausted",
      reason: "BUDGET_EXCEEDED",
      limit: "max_tokens",
      exitCode: 7,
    });
    const noRun = await baton(["orca", "result", "wf-cli-missing", "t", "--address", tcp]);
    expect(noRun.code).toBe(EXIT.notFound);
    expect(stderrError(noRun)).toMatchObject({ type: "NotFoundError", reason: "RUN_NOT_FOUND" });
    const noResult = await baton(["orca", "result", "wf-cli-budget", "t-none", "--address", tcp]);
    expect(noResult.code).toBe(EXIT.notFound);
  });

  it("exits 5 for an invalid argument the server refuses", async () => {
    const r = await baton(["orca", "start", "", "--address", tcp]);
    expect(r.code).toBe(EXIT.invalidArgument);
    expect(stderrError(r)).toMatchObject({ code: "invalid_argument", exitCode: 5 });
  });

  it("exits 6 when nothing listens at the address", async () => {
    const closed = await startServer({ listen: ["127.0.0.1:0"], modules: [createOrcaModule] });
    const address = closed.addresses[0] ?? "";
    await closed.close();
    const r = await baton(["orca", "result", "wf", "t", "--address", address]);
    expect(r.code).toBe(EXIT.unavailable);
    expect(stderrError(r)).toMatchObject({ type: "UnavailableError", code: "unavailable" });
  });

  it("streams live events with --follow, one NDJSON line each as they come, until SIGINT (exit 130)", async () => {
    await baton(["orca", "start", "wf-cli-follow", "--address", tcp]);
    let signalled = false;
    const r = await baton(["orca", "events", "wf-cli-follow", "--follow", "--address", tcp], {
      onStdout: (_text, child) => {
        // The replayed start_run arrived while the stream is still open: interrupt it.
        if (!signalled) {
          signalled = true;
          child.kill("SIGINT");
        }
      },
    });
    expect(signalled).toBe(true);
    expect(r.code).toBe(EXIT.interrupted);
    expect(ndjson<{ kind: string }>(r)[0]?.kind).toBe("start_run");
    expect(r.stderr).toBe("");
  });
  it("ends quietly with exit 0 when its reader goes away (EPIPE), as `| head -1` does", async () => {
    await baton(["orca", "start", "wf-cli-pipe", "--address", tcp]);
    let closed = false;
    const r = await baton(["orca", "events", "wf-cli-pipe", "--follow", "--address", tcp], {
      onStdout: (_text, child) => {
        if (closed) return;
        closed = true;
        // The reader leaves; the next event the stream writes hits a closed pipe.
        child.stdout?.destroy();
        void baton(["orca", "submit", "wf-cli-pipe", "--address", tcp]);
      },
    });
    expect(closed).toBe(true);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
  });
});

describe("baton orca with a token and TLS", () => {
  let secured: BatonServer;
  let address: string;
  let ca: string;

  beforeAll(async () => {
    const pkiDir = join(dir, "pki");
    rmSync(pkiDir, { recursive: true, force: true });
    mkdirSync(pkiDir);
    const pki = makePki(pkiDir);
    ca = pki.files.ca;
    secured = await startServer({
      listen: ["127.0.0.1:0"],
      modules: [createOrcaModule],
      token: "sekret",
      tls: { cert: readFileSync(pki.files.serverCert), key: readFileSync(pki.files.serverKey) },
    });
    address = secured.addresses[0] ?? "";
    expect(address).toMatch(/^https:\/\//);
  });

  afterAll(async () => {
    await secured?.close();
  });

  it("trusts --ca, sends --token or $ORCA_TOKEN, and exits 4 without a token", async () => {
    const withFlag = await baton(["orca", "start", "wf-tls", "--address", address, "--ca", ca, "--token", "sekret"]);
    expect(withFlag.code, withFlag.stderr).toBe(0);
    expect(json(withFlag)).toMatchObject({ runId: "wf-tls" });
    const withEnv = await baton(["orca", "events", "wf-tls", "--address", address, "--ca", ca], {
      env: { ORCA_TOKEN: "sekret" },
    });
    expect(withEnv.code, withEnv.stderr).toBe(0);
    expect(ndjson(withEnv)).toHaveLength(1);
    const without = await baton(["orca", "events", "wf-tls", "--address", address, "--ca", ca]);
    expect(without.code).toBe(EXIT.auth);
    expect(stderrError(without)).toMatchObject({ type: "UnauthenticatedError", exitCode: 4 });
    // Without --ca the server's certificate is not trusted: the connection fails.
    const untrusted = await baton(["orca", "events", "wf-tls", "--address", address, "--token", "sekret"]);
    expect(untrusted.code).toBe(EXIT.unavailable);
  });
});
