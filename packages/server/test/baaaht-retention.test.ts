// baaaht's entity maps are bounded: finished tasks, closed sessions and finished gateway
// responses are forgotten oldest first past their setting, and with none finished a new
// one is refused with RESOURCE_EXHAUSTED. Counts of retained entries, over a real socket.
import { AgentType, SessionState, TaskType } from "@baton/wire/baaaht";
import { Code } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { type BaaahtHarness, startBaaaht } from "./baaaht-support.js";

let h: BaaahtHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});
const start = async (settings: Record<string, string>) => {
  h = await startBaaaht({ settings });
  return h;
};

describe("baaaht retention", () => {
  it("keeps baaaht.maxTasks tasks: the oldest finished go first, none finished refuses a new one", async () => {
    const h = await start({ "baaaht.maxTasks": "2" });
    await h.agent.register({ name: "w", type: AgentType.WORKER, capabilities: { supportedTasks: ["*"] } });
    const run = () => h.agent.executeTask({ type: TaskType.CUSTOM });
    const a = await run();
    const b = await run();
    await expect(run()).rejects.toMatchObject({ code: Code.ResourceExhausted });
    expect(h.module.store.tasks.size).toBe(2);
    await h.agent.cancelTask({ taskId: a.taskId });
    const c = await run();
    expect([...h.module.store.tasks.keys()]).toEqual([b.taskId, c.taskId]);
    await expect(h.agent.getTaskStatus({ taskId: a.taskId })).rejects.toMatchObject({ code: Code.NotFound });
  });

  it("keeps baaaht.maxSessions sessions: the oldest closed go first (with their feeds), none closed refuses", async () => {
    const h = await start({ "baaaht.maxSessions": "2" });
    const a = await h.orchestrator.createSession({});
    const b = await h.orchestrator.createSession({});
    await expect(h.orchestrator.createSession({})).rejects.toMatchObject({ code: Code.ResourceExhausted });
    await h.orchestrator.closeSession({ sessionId: a.sessionId, reason: "done" });
    const c = await h.orchestrator.createSession({});
    expect([...h.module.store.sessions.keys()]).toEqual([b.sessionId, c.sessionId]);
    expect(h.module.state.sessionFeeds.has(a.sessionId)).toBe(false);
    expect((await h.orchestrator.getSession({ sessionId: b.sessionId })).session?.state).toBe(SessionState.ACTIVE);
    await expect(h.orchestrator.getSession({ sessionId: a.sessionId })).rejects.toMatchObject({
      code: Code.NotFound,
    });
  });

  it("keeps baaaht.maxSessions gateway sessions and baaaht.maxResponses responses", async () => {
    const h = await start({ "baaaht.maxSessions": "2", "baaaht.maxResponses": "2" });
    const g1 = await h.gateway.createGatewaySession({});
    const g2 = await h.gateway.createGatewaySession({});
    // Each gateway session holds an orchestrator session too: both maps are full.
    await expect(h.gateway.createGatewaySession({})).rejects.toMatchObject({ code: Code.ResourceExhausted });
    await h.gateway.closeGatewaySession({ sessionId: g1.sessionId, reason: "done" });
    const g3 = await h.gateway.createGatewaySession({});
    expect([...h.module.store.gatewaySessions.keys()]).toEqual([g2.sessionId, g3.sessionId]);
    expect(h.module.store.sessions.size).toBe(2);
    // With no chat agent every response ends at once (an error): the oldest finished go.
    for (let i = 0; i < 5; i++)
      await h.gateway.gatewaySendMessage({ sessionId: g2.sessionId, message: { content: `m${i}` } });
    expect(h.module.store.responses.size).toBe(2);
    // A chat agent that never answers keeps responses open: then a new message is refused.
    await h.agent.register({ name: "chat", type: AgentType.WORKER, capabilities: { supportedTasks: ["chat"] } });
    await h.gateway.gatewaySendMessage({ sessionId: g2.sessionId, message: { content: "open 1" } });
    await h.gateway.gatewaySendMessage({ sessionId: g2.sessionId, message: { content: "open 2" } });
    await expect(
      h.gateway.gatewaySendMessage({ sessionId: g2.sessionId, message: { content: "open 3" } }),
    ).rejects.toMatchObject({ code: Code.ResourceExhausted });
    expect(h.module.store.responses.size).toBe(2);
  });

  it("bounds a task's inputs and a session's task history by baaaht.historySize", async () => {
    const h = await start({ "baaaht.historySize": "3" });
    await h.agent.register({ name: "w", type: AgentType.WORKER, capabilities: { supportedTasks: ["*"] } });
    const { sessionId } = await h.orchestrator.createSession({});
    for (let i = 0; i < 5; i++) await h.agent.executeTask({ type: TaskType.CUSTOM, sessionId });
    const history = (await h.orchestrator.getSession({ sessionId })).session?.context?.taskHistory ?? [];
    expect(history.length).toBe(3);
  });
});
