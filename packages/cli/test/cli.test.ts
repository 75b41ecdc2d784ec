// `baton` as a user runs it: a child process against an in-process baton-server (TCP for
// ORCA, Portarium, Stratavore and edgemesh, a temp Unix socket for baaaht), its JSON output
// parsed, its exit codes and its one-line errors checked.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BaaahtClient } from "@baton/baaaht";
import { EXIT, VERBS, verbHelp, verbName } from "@baton/cli";
import { type BatonServer, createOrcaModule, startServer } from "@baton/server";
import { StratavoreClient } from "@baton/stratavore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makePki } from "../../orca/test/support.js";
import { baton, inProcess, json, ndjson, stderrError } from "./support.js";

let dir: string;
let server: BatonServer;
let tcp: string;
let socket: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "baton-cli-"));
  server = await startServer({
    listen: ["127.0.0.1:0", `unix://${join(dir, "baaaht.sock")}`],
    settings: {
      "portarium.serviceAccounts": "demo:s3cret:ws-a",
      "portarium.jwtSecret": "test-secret",
      "portarium.invocationDurationMs": "50",
    },
  });
  tcp = server.addresses[0] ?? "";
  socket = server.addresses[1] ?? "";
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("baton --help", () => {
  it("lists every verb of the table, the global flags and the exit codes", async () => {
    const r = await baton(["--help"]);
    expect(r.code).toBe(0);
    for (const v of VERBS) expect(r.stdout).toContain(verbName(v));
    for (const flag of ["--address", "--token", "--ca", "--cert", "--key", "--timeout-ms", "--output"])
      expect(r.stdout).toContain(flag);
    expect(r.stdout).toMatch(/Exit codes:[\s\S]*\b7\s+budget or quota exceeded/);
    expect(r.stdout).toContain("$ORCA_ADDR");
    expect(r.stdout).toContain("$GRPC_SOCKET_PATH");
  });

  it("prints each verb's own help, with its arguments and every flag it accepts", async () => {
    // One verb as a child process; every verb through main(), the function the bin runs.
    const child = await baton(["orca", "start", "--help"]);
    expect(child.code).toBe(0);
    expect(child.stdout).toBe(verbHelp(VERBS.find((v) => verbName(v) === "orca start")!));
    for (const v of VERBS) {
      const r = await inProcess([v.system, ...v.words, "--help"]);
      expect(r.code, verbName(v)).toBe(0);
      expect(r.stdout.startsWith(`Usage: baton ${verbName(v)}`), r.stdout).toBe(true);
      for (const a of v.args ?? []) expect(r.stdout).toContain(`<${a.name}>`);
      for (const f of Object.keys(v.flags ?? {})) expect(r.stdout).toContain(`--${f}`);
      expect(r.stdout).toContain("--address");
    }
  });

  it("prints a system's verbs for `baton orca --help`, and usage on stderr with exit 2 for a bare `baton`", async () => {
    const sys = await baton(["portarium", "--help"]);
    expect(sys.code).toBe(0);
    expect(sys.stdout).toContain("runs start <workflowId>");
    expect(sys.stdout).toContain("--client-id");
    const bare = await baton([]);
    expect(bare.code).toBe(EXIT.usage);
    expect(bare.stdout).toBe("");
    expect(bare.stderr).toContain("Usage: baton <system> <verb>");
  });
});

describe("usage errors", () => {
  it("exits 2 from the bin too, with the error as one JSON line on stderr", async () => {
    const r = await baton(["orca", "events", "r", "--bogus", "--address", tcp]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stdout).toBe("");
    expect(stderrError(r)).toMatchObject({ type: "UsageError", code: "usage", exitCode: 2 });
  });

  it.each([
    [["nope"], "unknown system nope"],
    [["orca", "launch", "x"], "unknown verb: baton orca launch x"],
    [["orca", "start"], "takes <workflowId>, got none"],
    [["orca", "events", "a", "b"], "takes <runId>, got a b"],
    [["orca", "events", "r", "--bogus"], "Unknown option '--bogus'"],
    [["orca", "events", "r", "--max", "-3"], ""],
    [["orca", "events", "r", "--max", "many"], "--max wants an integer"],
    [["orca", "start", "r", "--json", "{not json"], "--json: the argument is not JSON"],
    [["orca", "start", "r", "--json", "@/nonexistent/file.json"], "cannot read /nonexistent/file.json"],
    [["orca", "start", "r", "--json", "[1]"], "--json must be a JSON object"],
    [["orca", "start", "r", "--output", "yaml"], "--output must be json, table"],
    [["stratavore", "runners", "list", "--status", "bogus"], "--status must be one of STARTING, RUNNING"],
    [["orca", "start", "r", "--cert", "c.pem"], "--cert and --key go together"],
  ])("%j exits 2 with one JSON error line", async (args, message) => {
    const r = await inProcess([...args, "--address", tcp]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stdout).toBe("");
    const err = stderrError(r);
    expect(err).toMatchObject({ type: "UsageError", code: "usage", exitCode: 2 });
    expect(err.message).toContain(message);
  });
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

describe("baton baaaht (over the Unix socket)", () => {
  it("creates a session from flags and stdin JSON, gets it and lists it, as JSON and as a table", async () => {
    const created = await baton(
      ["baaaht", "sessions", "create", "--address", socket, "--json", "-", "--owner", "cli-user", "--label", "team=a"],
      { stdin: JSON.stringify({ metadata: { name: "from-stdin", description: "d" }, config: { maxContainers: 3 } }) },
    );
    expect(created.code, created.stderr).toBe(0);
    const session = json<{ id: string; state: string; metadata: Record<string, unknown> }>(created);
    expect(session.state).toBe("SESSION_STATE_ACTIVE");
    expect(session.metadata).toMatchObject({
      name: "from-stdin",
      description: "d",
      ownerId: "cli-user",
      labels: { team: "a" },
    });

    const got = await baton(["baaaht", "sessions", "get", session.id, "--address", socket]);
    expect(json(got)).toMatchObject({ id: session.id, metadata: { name: "from-stdin" } });

    const listed = await baton(["baaaht", "sessions", "list", "--owner", "cli-user", "--state", "active"], {
      env: { GRPC_SOCKET_PATH: socket.replace(/^unix:\/\//, "") },
    });
    expect(listed.code, listed.stderr).toBe(0);
    expect(json<Array<{ id: string }>>(listed).map((s) => s.id)).toEqual([session.id]);

    const table = await baton([
      "baaaht",
      "sessions",
      "list",
      "--owner",
      "cli-user",
      "--output",
      "table",
      "--address",
      socket,
    ]);
    expect(table.code).toBe(0);
    const [header, row, ...rest] = table.stdout.split("\n");
    expect(header).toMatch(/^ID\s+NAME\s+OWNER\s+STATE\s+STATUS\s+CREATED$/);
    expect(row).toMatch(
      new RegExp(`^${session.id}\\s+from-stdin\\s+cli-user\\s+SESSION_STATE_ACTIVE\\s+STATUS_RUNNING\\s+\\d{4}-`),
    );
    expect(rest).toEqual([""]);
  });

  it("lists containers, follows events as NDJSON, and refuses bad input with exit 5 or 3", async () => {
    await using client = new BaaahtClient({ address: socket });
    const s = await client.sessions.create({ metadata: { name: "with-container" } });
    const c = await client.containers.create(s.id, { image: "python:3.11" });
    const containers = await baton(["baaaht", "containers", "list", "--session", s.id, "--address", socket]);
    expect(containers.code, containers.stderr).toBe(0);
    expect(json<Array<{ id: string; image: string; sessionId: string }>>(containers)).toEqual([
      expect.objectContaining({ id: c.id, image: "python:3.11", sessionId: s.id }),
    ]);

    const events = await baton([
      "baaaht",
      "events",
      "follow",
      "--session",
      s.id,
      "--since",
      "0",
      "--max",
      "2",
      "--address",
      socket,
    ]);
    expect(events.code, events.stderr).toBe(0);
    const evs = ndjson<{ type: string; metadata: { sessionId: string } }>(events);
    expect(evs).toHaveLength(2);
    expect(evs[0]).toMatchObject({ type: "EVENT_TYPE_SESSION_CREATED", metadata: { sessionId: s.id } });
    expect(events.stderr).toBe("");

    const badState = await baton(["baaaht", "sessions", "list", "--state", "bogus", "--address", socket]);
    expect(badState.code).toBe(EXIT.invalidArgument);
    expect(stderrError(badState).message).toContain("unknown session state BOGUS");
    const badJson = await baton([
      "baaaht",
      "sessions",
      "create",
      "--json",
      '{"metadata":{"nope":1}}',
      "--address",
      socket,
    ]);
    expect(badJson.code).toBe(EXIT.invalidArgument);
    const missing = await baton(["baaaht", "sessions", "get", "sess-missing", "--address", socket]);
    expect(missing.code).toBe(EXIT.notFound);
  });
});

describe("baton portarium", () => {
  const creds = ["--client-id", "demo", "--client-secret", "s3cret", "--workspace", "ws-a"];
  const at = () => ["--address", `http://${tcp}`, ...creds];

  it("creates a workflow, starts and lists runs, gets one, lists approvals", async () => {
    const wfFile = join(dir, "workflow.json");
    writeFileSync(wfFile, JSON.stringify({ name: "invoice", executionTier: "Auto", actions: [] }));
    const wf = await baton(["portarium", "workflows", "create", "--json", `@${wfFile}`, ...at()]);
    expect(wf.code, wf.stderr).toBe(0);
    const { workflowId } = json<{ workflowId: string }>(wf);

    const started = await baton(["portarium", "runs", "start", workflowId, "--parameters", '{"amount":5000}', ...at()]);
    expect(started.code, started.stderr).toBe(0);
    const run = json<{ runId: string; workflowId: string }>(started);
    expect(run.workflowId).toBe(workflowId);

    const listed = await baton(["portarium", "runs", "list", "--limit", "1"], {
      env: {
        PORTARIUM_URL: `http://${tcp}`,
        PORTARIUM_CLIENT_ID: "demo",
        PORTARIUM_CLIENT_SECRET: "s3cret",
        PORTARIUM_WORKSPACE: "ws-a",
      },
    });
    expect(listed.code, listed.stderr).toBe(0);
    expect(json<Array<{ runId: string }>>(listed).map((r) => r.runId)).toContain(run.runId);

    const got = await baton(["portarium", "runs", "get", run.runId, ...at()]);
    expect(json(got)).toMatchObject({ runId: run.runId, workflowId });

    const approvals = await baton(["portarium", "approvals", "list", ...at()]);
    expect(approvals.code, approvals.stderr).toBe(0);
    expect(Array.isArray(json(approvals))).toBe(true);

    const missing = await baton(["portarium", "runs", "get", "run-missing", ...at()]);
    expect(missing.code).toBe(EXIT.notFound);
    expect(stderrError(missing)).toMatchObject({ status: 404, requestId: expect.any(String) });
  });

  it("invokes a machine action and waits for its final state", async () => {
    const reg = await baton(["portarium", "machines", "register", "--hostname", "build-01", ...at()]);
    expect(reg.code, reg.stderr).toBe(0);
    const { machineId } = json<{ machineId: string }>(reg);
    const done = await baton(["portarium", "machines", "invoke", machineId, "--action", "compile", "--wait", ...at()]);
    expect(done.code, done.stderr).toBe(0);
    expect(json(done)).toMatchObject({ status: "completed" });
    expect(done.stderr).toBe("");
    const accepted = await baton(["portarium", "machines", "invoke", machineId, "--action", "compile", ...at()]);
    expect(json(accepted)).toMatchObject({ status: "accepted" });
  });

  it("exits 4 without credentials or with a wrong secret", async () => {
    const none = await baton(["portarium", "runs", "list", "--address", `http://${tcp}`, "--workspace", "ws-a"]);
    expect(none.code).toBe(EXIT.auth);
    expect(stderrError(none)).toMatchObject({ type: "UnauthenticatedError", status: 401 });
    const wrong = await baton([
      "portarium",
      "runs",
      "list",
      "--address",
      `http://${tcp}`,
      "--client-id",
      "demo",
      "--client-secret",
      "wrong",
      "--workspace",
      "ws-a",
    ]);
    expect(wrong.code).toBe(EXIT.auth);
  });
});

describe("baton stratavore and edgemesh", () => {
  it("lists runners and projects", async () => {
    await using sv = new StratavoreClient({ address: tcp });
    await sv.projects.create({ name: "cli-project", path: dir });
    const { runner } = await sv.runners.create({ projectName: "cli-project", model: "claude-3-haiku" });
    const r = await baton(["stratavore", "runners", "list", "--project", "cli-project", "--address", tcp]);
    expect(r.code, r.stderr).toBe(0);
    expect(json<Array<{ id: string; projectName: string; model: string }>>(r)).toEqual([
      expect.objectContaining({ id: runner.id, projectName: "cli-project", model: "claude-3-haiku" }),
    ]);
    const projects = await baton(["stratavore", "projects", "list", "--address", tcp]);
    expect(json<Array<{ name: string }>>(projects).map((p) => p.name)).toContain("cli-project");
  });

  it("lists the mesh's devices: the server itself", async () => {
    const r = await baton(["edgemesh", "devices", "list", "--address", tcp]);
    expect(r.code, r.stderr).toBe(0);
    const devices = json<Array<{ id: string; grpcAddr: string }>>(r);
    expect(devices.length).toBeGreaterThanOrEqual(1);
    expect(devices[0]?.id).toEqual(expect.any(String));
  });
});
