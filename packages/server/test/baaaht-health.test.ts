// baaaht health follows the server's state: grpc.health statuses per service (with their
// dependencies) and NOT_SERVING once shutdown begins; HealthCheck subsystems counted from
// sessions, containers, events, agents and chat.

import { spawn } from "node:child_process";
import { ManualClock, ProcessRuntime } from "@baton/server";
import { AgentType, ContainerState, grpcHealth, Health, Status, TaskType } from "@baton/wire/baaaht";
import { Code } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type BaaahtHarness, startBaaaht } from "./baaaht-support.js";

const { HealthCheckResponse_ServingStatus: S } = grpcHealth;
const ORCH = "orchestrator.v1.OrchestratorService";
const GATEWAY = "gateway.v1.GatewayService";
const AGENT = "agent.v1.AgentService";

let h: BaaahtHarness;
beforeEach(async () => {
  h = await startBaaaht();
});
afterEach(() => h.close());

const status = async (service: string) => (await h.health.check({ service })).status;

describe("grpc.health.v1", () => {
  it("a service that is not serving takes down what depends on it: the gateway and the server as a whole", async () => {
    expect(await Promise.all(["", ORCH, AGENT, GATEWAY].map(status))).toEqual([
      S.SERVING,
      S.SERVING,
      S.SERVING,
      S.SERVING,
    ]);
    h.module.setServingStatus(ORCH, S.NOT_SERVING);
    expect(await Promise.all(["", ORCH, AGENT, GATEWAY].map(status))).toEqual([
      S.NOT_SERVING,
      S.NOT_SERVING,
      S.SERVING,
      S.NOT_SERVING,
    ]);
    h.module.setServingStatus("orchestrator", S.SERVING);
    expect(await Promise.all(["", ORCH, GATEWAY].map(status))).toEqual([S.SERVING, S.SERVING, S.SERVING]);
    // The agent service going only takes the server as a whole with it.
    h.module.setServingStatus(AGENT, S.NOT_SERVING);
    expect(await Promise.all(["", ORCH, GATEWAY].map(status))).toEqual([S.NOT_SERVING, S.SERVING, S.SERVING]);
  });

  it("turns NOT_SERVING when shutdown begins, tells watchers, then ends their streams with UNAVAILABLE", async () => {
    await h.close();
    const clock = new ManualClock();
    h = await startBaaaht({ clock });
    // A status set to SERVING does not hide the shutdown.
    h.module.setServingStatus(GATEWAY, S.SERVING);
    const watches = [ORCH, GATEWAY, ""].map((service) => h.health.watch({ service })[Symbol.asyncIterator]());
    for (const w of watches) expect((await w.next()).value?.status).toBe(S.SERVING);
    const closing = h.server.close();
    for (const w of watches) expect((await w.next()).value?.status).toBe(S.NOT_SERVING);
    // At the end of the drain period (the default 10 s) the watches end, retryably: not a clean end.
    clock.advance(10_000);
    for (const w of watches) await expect(w.next()).rejects.toMatchObject({ code: Code.Unavailable });
    await closing;
    expect(h.module.health.getServingStatus(ORCH)).toBe(S.NOT_SERVING);
  });
});

describe("HealthCheck and GetStatus", () => {
  it("the orchestrator's subsystems count sessions, containers, events and the runtime", async () => {
    const before = await h.orchestrator.healthCheck({});
    expect(before.health).toBe(Health.HEALTHY);
    const events = before.subsystems[2];
    const { sessionId } = await h.orchestrator.createSession({});
    await h.orchestrator.createSession({});
    const { container } = await h.orchestrator.createContainer({ sessionId, config: { image: "alpine:3.19" } });
    expect(container?.state).toBe(ContainerState.RUNNING);
    await h.orchestrator.closeSession({ sessionId, reason: "done" });
    const after = await h.orchestrator.healthCheck({});
    expect(after.subsystems).toEqual([
      "sessions: 1 open of 2",
      "containers: 0 running",
      // Two sessions created, a container created, started and stopped, a session closed.
      expect.stringMatching(/^events: \d+ logged, 0 subscribers$/),
      expect.stringMatching(/^container-runtime record: .*: available \(0 containers recorded as running\)$/),
    ]);
    const logged = (s: string | undefined) => Number(/events: (\d+)/.exec(s ?? "")?.[1]);
    expect(logged(after.subsystems[2]) - logged(events)).toBe(6);
    expect(await h.orchestrator.getStatus({})).toMatchObject({
      status: Status.RUNNING,
      activeSessions: 1,
      activeContainers: 0,
    });
  });

  it("the gateway is DEGRADED until a healthy agent answers chat; the agent service counts agents and tasks", async () => {
    expect(await h.gateway.healthCheck({})).toMatchObject({
      health: Health.DEGRADED,
      subsystems: ["sessions: 0 active", "chat: 0 healthy agents answer chat", "streams: 0 open"],
    });
    const chat = await h.agent.register({
      name: "chatty",
      type: AgentType.WORKER,
      capabilities: { supportedTasks: ["chat", "code-execution"] },
    });
    await h.gateway.createGatewaySession({});
    expect(await h.gateway.healthCheck({})).toMatchObject({
      health: Health.HEALTHY,
      subsystems: ["sessions: 1 active", "chat: 1 healthy agents answer chat", "streams: 0 open"],
    });
    await h.agent.executeTask({ type: TaskType.CODE_EXECUTION, agentId: chat.agentId });
    expect(await h.agent.healthCheck({})).toMatchObject({
      status: Status.RUNNING,
      subsystems: ["agents: 1 healthy, 0 unhealthy, 0 offline", "tasks: 1 active"],
    });
    await h.agent.unregister({ agentId: chat.agentId, reason: "bye" });
    expect(await h.agent.healthCheck({})).toMatchObject({
      subsystems: ["agents: 0 healthy, 0 unhealthy, 0 offline", "tasks: 0 active"],
    });
    expect((await h.gateway.healthCheck({})).health).toBe(Health.DEGRADED);
  });
});

describe("a container runtime that cannot start containers", () => {
  it("makes the orchestrator DEGRADED, saying why, until a container starts again", async () => {
    let exhausted = true;
    const runtime = new ProcessRuntime({
      spawn: ((...args: Parameters<typeof spawn>) => {
        if (exhausted) throw Object.assign(new Error("spawn EAGAIN"), { code: "EAGAIN" });
        return spawn(...args);
      }) as typeof spawn,
    });
    const p = await startBaaaht({ runtime });
    try {
      const { sessionId } = await p.orchestrator.createSession({});
      const command = [process.execPath, "-e", "setTimeout(() => {}, 60000)"];
      const failed = await p.orchestrator.createContainer({ sessionId, config: { image: "node", command } });
      expect(failed.container?.state).toBe(ContainerState.EXITED);
      const degraded = await p.orchestrator.healthCheck({});
      expect(degraded.health).toBe(Health.DEGRADED);
      expect(degraded.subsystems[3]).toMatch(
        /^container-runtime process: .*: unavailable \(cannot start processes: spawn EAGAIN\)$/,
      );
      // grpc.health keeps the orchestrator SERVING: sessions and messages still work.
      expect((await p.health.check({ service: ORCH })).status).toBe(S.SERVING);
      exhausted = false;
      const started = await p.orchestrator.createContainer({ sessionId, config: { image: "node", command } });
      expect(started.container?.state).toBe(ContainerState.RUNNING);
      expect((await p.orchestrator.healthCheck({})).health).toBe(Health.HEALTHY);
    } finally {
      await p.close();
    }
  });
});
