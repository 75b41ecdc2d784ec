// `baton baaaht|portarium|stratavore|edgemesh` as a child process against an in-process
// baton-server (baaaht over a temp Unix socket): JSON output, tables, exit codes.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BaaahtClient } from "@baton/baaaht";
import { EXIT } from "@baton/cli";
import { StratavoreClient } from "@baton/stratavore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baton, type CliTestServer, json, ndjson, startCliTestServer, stderrError } from "./support.js";

let t: CliTestServer;
let dir: string;
let tcp: string;
let socket: string;

beforeAll(async () => {
  t = await startCliTestServer();
  ({ dir, tcp, socket } = t);
});

afterAll(async () => {
  await t?.close();
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
