/**
 * baton-server's process runtime (`stratavore.runtime=process`): each runner is a local
 * command run in its project's path, and what it prints becomes its session transcript;
 * Reconcile finds runners whose process died and marks them FAILED.
 */
import { mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type BatonServer, startServer } from "@baton/server";
import { EventType, RunnerStatus, SessionStatus, StratavoreClient, type StratavoreEvent } from "@baton/stratavore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, tempDir } from "./support.js";

let tmp: ReturnType<typeof tempDir>;
let server: BatonServer;
let sv: StratavoreClient;
beforeAll(async () => {
  tmp = tempDir();
  // Every runner runs the agent.sh of its project's directory (exec: the runner process is that shell).
  server = await startServer({
    listen: ["127.0.0.1:0"],
    settings: {
      "stratavore.runtime": "process",
      "stratavore.command": "exec sh ./agent.sh",
      "stratavore.stopTimeoutMs": "2000",
    },
  });
  sv = new StratavoreClient({ address: server.addresses[0] as string });
});
afterAll(async () => {
  await sv?.close();
  await server?.close();
  tmp?.cleanup();
});

/** A project whose runners run `script` in a directory of their own. */
async function projectRunning(name: string, script: string, quota?: { maxTokensPerDay: number }): Promise<string> {
  const dir = join(tmp.dir, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "agent.sh"), script);
  await sv.projects.create({ name, path: dir, ...(quota ? { quota } : {}) });
  return realpathSync(dir);
}

/** The runner's events from its first, until `last` (inclusive). */
async function eventsUntil(runnerId: string, last: (e: StratavoreEvent) => boolean): Promise<StratavoreEvent[]> {
  const out: StratavoreEvent[] = [];
  for await (const e of sv.runners.events({ runnerId, fromStart: true })) {
    out.push(e);
    if (last(e)) break;
  }
  return out;
}

/** The pid a runner's agent printed as its first line ("pid <n>"). */
async function printedPid(runnerId: string, sessionId: string): Promise<number> {
  await eventsUntil(runnerId, (e) => e.type === EventType.TRANSCRIPT_APPENDED);
  const first = (await sv.sessions.transcript(sessionId)).messages[0]?.content ?? "";
  const m = /^pid (\d+)$/.exec(first);
  if (!m) throw new Error(`no pid in ${JSON.stringify(first)}`);
  return Number(m[1]);
}

const CONVERSATION = `
printf '%s\\n' '{"role":"user","content":"fix the failing test","tokens":5}'
echo "reading main.go in $(pwd)"
printf '%s\\n' '{"role":"assistant","content":"patched main.go","tokens":12,"metadata":{"file":"main.go"}}'
echo
echo "model $STRATAVORE_MODEL session $STRATAVORE_SESSION_ID"
exec sleep 600
`;

describe("the process runtime's transcripts", () => {
  it("turns each printed line into a message with tokens: JSON lines as they are, plain lines by word count", async () => {
    const dir = await projectRunning("talk", CONVERSATION);
    const { runner, handle } = await sv.runners.create({ projectName: "talk", model: "claude-3-opus" });
    const session = runner.sessionId;
    const appended = (
      await eventsUntil(
        runner.id,
        (e) => e.payload?.$typeName === "stratavore.v1.TranscriptAppended" && e.payload.totalTokens === 25n,
      )
    ).filter((e) => e.type === EventType.TRANSCRIPT_APPENDED);
    expect(
      appended.map((e) =>
        e.payload?.$typeName === "stratavore.v1.TranscriptAppended"
          ? [e.payload.sessionId, e.payload.role, e.payload.tokens, e.payload.totalTokens]
          : [],
      ),
    ).toEqual([
      [session, "user", 5n, 5n],
      [session, "assistant", 4n, 9n],
      [session, "assistant", 12n, 21n],
      [session, "assistant", 4n, 25n],
    ]);

    const t = await sv.sessions.transcript(session, { includeMetadata: true });
    expect(t.messages.map((m) => [m.role, m.content, m.tokens, m.metadata])).toEqual([
      ["user", "fix the failing test", 5n, {}],
      ["assistant", `reading main.go in ${dir}`, 4n, {}],
      ["assistant", "patched main.go", 12n, { file: "main.go" }],
      ["assistant", `model claude-3-opus session ${session}`, 4n, {}],
    ]);
    expect(t.messages.every((m) => m.timestamp !== undefined)).toBe(true);
    expect(t.totalTokens).toBe(25n);
    expect(t.metadata?.messageCount).toBe(4);
    const text = (await sv.sessions.transcript(session, { format: "text" })).rendered.split("\n");
    expect(text[0]).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] user: fix the failing test$/);
    expect(text[2]).toMatch(/\] assistant: patched main\.go$/);

    const details = await sv.runners.get(runner.id, { includeMetrics: true, includeSession: true });
    expect(details.metrics?.messageCount).toBe(4n);
    expect(details.metrics?.tokensUsed).toBe(25n);
    expect(details.session?.tokenCount).toBe(25n);
    const stats = (await sv.projects.get("talk", { includeStats: true })).statistics;
    expect([stats?.totalTokensUsed, stats?.tokensUsedToday, stats?.totalSessions]).toEqual([25n, 25n, 1n]);

    expect((await handle.stop()).status).toBe(RunnerStatus.TERMINATED);
    expect((await sv.sessions.get(session)).status).toBe(SessionStatus.COMPLETED);
  });

  it("stops a runner whose output would take its session past max_tokens_per_day", async () => {
    await projectRunning("frugal", CONVERSATION);
    const { runner } = await sv.runners.create({ projectName: "frugal", quota: { maxTokensPerDay: 20 } });
    const events = await eventsUntil(runner.id, (e) => e.type === EventType.RUNNER_STOPPED);
    const quota = events.find((e) => e.type === EventType.QUOTA_EXCEEDED)?.payload;
    expect(
      quota?.$typeName === "stratavore.v1.QuotaExceeded" && [quota.limit, quota.scope, quota.max, quota.requested],
    ).toEqual(["max_tokens_per_day", "runner", 20n, 21n]);
    const t = await sv.sessions.transcript(runner.sessionId);
    expect(t.messages.map((m) => m.tokens)).toEqual([5n, 4n]);
    expect(t.totalTokens).toBe(9n);
    expect((await sv.runners.get(runner.id)).runner.status).toBe(RunnerStatus.TERMINATED);
  });
});

describe("Reconcile after a runner's process dies", () => {
  it("marks the killed runner FAILED with a RUNNER_FAILED event, reports the change once, and leaves the others", async () => {
    await projectRunning("crash", 'echo "pid $$"\nexec sleep 600\n');
    const victim = await sv.runners.create({ projectName: "crash" });
    const bystander = await sv.runners.create({ projectName: "crash" });
    await victim.handle.waitFor(RunnerStatus.RUNNING);
    await bystander.handle.waitFor(RunnerStatus.RUNNING);
    const pid = await printedPid(victim.runner.id, victim.runner.sessionId);
    expect(() => process.kill(pid, 0)).not.toThrow(); // the runner really is that live process

    const before = await sv.daemon.reconcile({ projectName: "crash" });
    expect(before.actions).toEqual([]);
    expect(before.runnersChecked).toBe(2);

    process.kill(pid, "SIGKILL");
    // Nothing announces the death to clients until Reconcile: poll a dry run (bounded).
    await eventually(
      async () => (await sv.daemon.reconcile({ projectName: "crash", dryRun: true })).actions.length > 0,
    );
    const dry = await sv.daemon.reconcile({ projectName: "crash", dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect((await victim.handle.get()).status).toBe(RunnerStatus.RUNNING); // a dry run changes nothing

    const done = await sv.daemon.reconcile({ projectName: "crash" });
    expect(done.actions.map((a) => [a.runnerId, a.projectName, a.previousStatus, a.status, a.reason])).toEqual([
      [victim.runner.id, "crash", RunnerStatus.RUNNING, RunnerStatus.FAILED, "process died: killed by SIGKILL"],
    ]);
    expect(done.actions).toEqual(dry.actions); // the dry run foretold exactly this
    expect((await victim.handle.get()).status).toBe(RunnerStatus.FAILED);
    expect((await bystander.handle.get()).status).toBe(RunnerStatus.RUNNING);
    expect((await sv.sessions.get(victim.runner.sessionId)).status).toBe(SessionStatus.FAILED);
    const failed = (await eventsUntil(victim.runner.id, (e) => e.type === EventType.RUNNER_FAILED)).at(-1)?.payload;
    expect(
      failed?.$typeName === "stratavore.v1.RunnerFailure" && [failed.previousStatus, failed.exitCode, failed.signal],
    ).toEqual([RunnerStatus.RUNNING, -1, "SIGKILL"]);
    await expect(victim.handle.waitFor(RunnerStatus.RUNNING)).rejects.toThrow(/FAILED/);

    // Reported once: the next Reconcile has nothing to change.
    expect((await sv.daemon.reconcile({ projectName: "crash" })).actions).toEqual([]);
    await bystander.handle.stop();
  });

  it("marks a runner whose process exited 0 on its own TERMINATED", async () => {
    await projectRunning("finish", 'echo "all done"\n');
    const { runner, handle } = await sv.runners.create({ projectName: "finish" });
    await eventsUntil(runner.id, (e) => e.type === EventType.TRANSCRIPT_APPENDED);
    await eventually(
      async () => (await sv.daemon.reconcile({ projectName: "finish", dryRun: true })).actions.length > 0,
    );
    const done = await sv.daemon.reconcile({ projectName: "finish" });
    expect(done.actions.map((a) => [a.runnerId, a.status, a.reason])).toEqual([
      [runner.id, RunnerStatus.TERMINATED, "process exited 0"],
    ]);
    expect((await handle.get()).status).toBe(RunnerStatus.TERMINATED);
    expect((await sv.sessions.get(runner.sessionId)).status).toBe(SessionStatus.COMPLETED);
  });
});
