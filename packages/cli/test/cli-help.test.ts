// `baton --help` and usage errors: help made from the verb table, exit 2 with one JSON error line.
import { EXIT, VERBS, verbHelp, verbName } from "@baton/cli";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { baton, type CliTestServer, inProcess, startCliTestServer, stderrError } from "./support.js";

let t: CliTestServer;
let tcp: string;

beforeAll(async () => {
  t = await startCliTestServer();
  tcp = t.tcp;
});

afterAll(async () => {
  await t?.close();
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
