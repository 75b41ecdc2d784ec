// baaaht's timeouts run on the server's clock: session idle timeouts and max durations,
// agent heartbeat windows, task timeouts, event subscriptions' end_time. The test moves a
// manual clock instead of sleeping.
import { ManualClock } from "@baton/server";
import { AgentType, EventType, SessionState, Status, TaskState, TaskType } from "@baton/wire/baaaht";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BaaahtHarness, startBaaaht } from "./baaaht-support.js";

const WINDOW = 10_000;
let clock: ManualClock;
let h: BaaahtHarness;
beforeAll(async () => {
  clock = new ManualClock();
  h = await startBaaaht({ clock, settings: { "baaaht.agentHeartbeatTimeoutMs": String(WINDOW) } });
});
afterAll(() => h.close());

const sessionState = async (sessionId: string) => (await h.orchestrator.getSession({ sessionId })).session?.state;

describe("sessions", () => {
  it("close after their idle timeout; activity starts the timeout again", async () => {
    const { sessionId, session } = await h.orchestrator.createSession({ config: { idleTimeoutNs: 1_000_000_000n } });
    expect(session?.expiresAt).toEqual(timestampFromMs(clock.now() + 1000));
    clock.advance(999);
    expect(await sessionState(sessionId)).toBe(SessionState.ACTIVE);
    await h.orchestrator.sendMessage({ sessionId, message: { content: "still here" } });
    clock.advance(999);
    expect(await sessionState(sessionId)).toBe(SessionState.ACTIVE);
    clock.advance(1);
    expect(await sessionState(sessionId)).toBe(SessionState.CLOSED);
    const closed = (await h.orchestrator.getSession({ sessionId })).session;
    expect(closed?.closedAt).toEqual(timestampFromMs(clock.now()));
    await expect(h.orchestrator.sendMessage({ sessionId, message: { content: "late" } })).rejects.toMatchObject({
      rawMessage: `session ${sessionId} is closed`,
    });
  });

  it("close at their max duration however active they are", async () => {
    const { sessionId } = await h.orchestrator.createSession({
      config: { maxDurationNs: 5_000_000_000n, idleTimeoutNs: 3_000_000_000n },
    });
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      await h.orchestrator.sendMessage({ sessionId, message: { content: `tick ${i}` } });
    }
    expect(await sessionState(sessionId)).toBe(SessionState.ACTIVE);
    clock.advance(1000);
    expect(await sessionState(sessionId)).toBe(SessionState.CLOSED);
  });
});

describe("agents", () => {
  it("turn unhealthy after a window without heartbeats, offline after two, and their running tasks fail", async () => {
    const { agentId } = await h.agent.register({
      name: "worker-1",
      type: AgentType.WORKER,
      capabilities: { supportedTasks: ["code-execution"] },
    });
    const { taskId } = await h.agent.executeTask({ type: TaskType.CODE_EXECUTION });
    // Liveness is checked every quarter window: at the first check past a silent window the
    // agent is unhealthy, at the first past two windows offline.
    clock.advance(WINDOW);
    await h.agent.heartbeat({ agentId });
    const rec = () => h.module.store.agents.get(agentId);
    clock.advance(WINDOW);
    expect(rec()?.liveness).toBe("healthy");
    clock.advance(WINDOW / 4);
    expect(rec()?.liveness).toBe("unhealthy");
    expect(rec()?.agent.status).toBe(Status.ERROR);
    // Unhealthy agents get no new work.
    await expect(h.agent.executeTask({ type: TaskType.CODE_EXECUTION })).rejects.toMatchObject({
      rawMessage: "no healthy registered agent with free capacity supports task type code-execution",
    });
    clock.advance(WINDOW);
    expect(rec()?.liveness).toBe("offline");
    const task = (await h.agent.getTaskStatus({ taskId })).task;
    expect(task?.state).toBe(TaskState.FAILED);
    expect(task?.error).toMatchObject({ code: "AGENT_OFFLINE", message: "agent missed heartbeats" });
    // A heartbeat brings it back.
    await h.agent.heartbeat({ agentId });
    expect(rec()?.liveness).toBe("healthy");
  });

  it("a task's timeout ends it TIMEOUT on the clock", async () => {
    await h.agent.register({ name: "worker-2", type: AgentType.WORKER, capabilities: { supportedTasks: ["*"] } });
    const { taskId } = await h.agent.executeTask({ type: TaskType.CUSTOM, config: { timeoutNs: 2_000_000_000n } });
    clock.advance(1999);
    expect((await h.agent.getTaskStatus({ taskId })).task?.state).toBe(TaskState.QUEUED);
    clock.advance(1);
    const task = (await h.agent.getTaskStatus({ taskId })).task;
    expect(task?.state).toBe(TaskState.TIMEOUT);
    expect(task?.error?.message).toBe("task exceeded 2000 ms");
  });
});

describe("event subscriptions", () => {
  it("end at end_time on the clock", async () => {
    const end = clock.now() + 5000;
    const events = h.orchestrator.subscribeEvents({
      filter: { type: EventType.SESSION_CREATED, endTime: timestampFromMs(end) },
    });
    const it = events[Symbol.asyncIterator]();
    const first = it.next();
    // Once the server follows the log, a new session is delivered live.
    for (let i = 0; i < 200 && h.module.state.events.followers === 0; i++) await new Promise((r) => setTimeout(r, 5));
    const { sessionId } = await h.orchestrator.createSession({});
    expect((await first).value?.metadata?.sessionId).toBe(sessionId);
    const rest = it.next();
    clock.advance(5000);
    expect((await rest).done).toBe(true);
  });
});
