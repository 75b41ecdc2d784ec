import { tmpdir } from "node:os";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { type CommandLimits, runCommand } from "./commands.js";

const limits = (over: Partial<CommandLimits> = {}): CommandLimits => ({
  allowed: ["echo", "sleep", "no-such-command-baton"],
  timeoutMs: 10_000,
  outputBytes: 1024,
  cwd: tmpdir(),
  ...over,
});

async function refusal(p: Promise<unknown>): Promise<ConnectError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ConnectError)) throw new Error(`expected a ConnectError, got ${String(err)}`);
  return err;
}

describe("runCommand", () => {
  it("passes args verbatim with no shell", async () => {
    expect(await runCommand("echo", ["a b", "$(id)", "*"], limits())).toEqual({
      exitCode: 0,
      stdout: "a b $(id) *\n",
      stderr: "",
    });
  });

  it("refuses what is off the allowlist, paths and the empty command, without running anything", async () => {
    expect((await refusal(runCommand("ls", [], limits()))).code).toBe(Code.PermissionDenied);
    expect((await refusal(runCommand("./echo", [], limits({ allowed: ["./echo"] })))).code).toBe(Code.PermissionDenied);
    expect((await refusal(runCommand("", [], limits()))).code).toBe(Code.InvalidArgument);
  });

  it("reports an allowlisted command that cannot start as exit 127 with the reason", async () => {
    const r = await runCommand("no-such-command-baton", [], limits());
    expect(r.exitCode).toBe(127);
    expect(r.stderr).toMatch(/^no-such-command-baton: spawn no-such-command-baton ENOENT\n$/);
  });

  it("kills a command past its time limit: exit 124 and a note", async () => {
    expect(await runCommand("sleep", ["600"], limits({ timeoutMs: 100 }))).toEqual({
      exitCode: 124,
      stdout: "",
      stderr: "sleep: killed after 100 ms\n",
    });
  });

  it("cuts output at the cap and says so", async () => {
    expect(await runCommand("echo", ["abcdefghij"], limits({ outputBytes: 4 }))).toEqual({
      exitCode: 0,
      stdout: "abcd",
      stderr: "echo: output cut at 4 bytes\n",
    });
  });

  it("never cuts inside a UTF-8 character", async () => {
    // "€" is 3 bytes: a 7-byte cap holds two of them and one byte of the third.
    expect((await runCommand("echo", ["€€€€"], limits({ outputBytes: 7 }))).stdout).toBe("€€");
    expect((await runCommand("echo", ["€€€€"], limits({ outputBytes: 6 }))).stdout).toBe("€€");
    // A 4-byte character cut after 3 bytes, after ASCII.
    expect((await runCommand("echo", ["a\u{1F600}b"], limits({ outputBytes: 4 }))).stdout).toBe("a");
    expect((await runCommand("echo", ["a\u{1F600}b"], limits({ outputBytes: 5 }))).stdout).toBe("a\u{1F600}");
  });
});
