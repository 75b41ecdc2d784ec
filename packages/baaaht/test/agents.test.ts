import type { AgentInbound, AgentTask } from "@baton/baaaht";
import { AgentState, AgentType, Status, TaskState } from "@baton/baaaht/wire";
import {
  AlreadyExistsError,
  CanceledError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
} from "@baton/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collect as all, type Harness, rejectsWith, startHarness, take, until } from "./helpers.js";
import { dropStreamOnce } from "./interceptors.js";
import { baaahtModule } from "./server-shim.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ "baaaht.agentHeartbeatTimeoutMs": "300" });
});
afterAll(async () => {
  await h?.close();
});

/** Takes the next task routed to the agent. */
async function nextTask(agent: AsyncIterable<AgentInbound>): Promise<AgentTask> {
  for await (const item of agent) if (item.kind === "task") return item.task;
  throw new Error("the agent stream ended");
}

describe("agents", () => {
  it("register, heartbeat, unregister", async () => {
    const agent = await h.unix.agents.register({
      name: "python-executor",
      type: "WORKER",
      metadata: { version: "1.0.0", hostname: "host-1" },
      capabilities: {
        supportedTasks: ["code-execution", "file-operation"],
        maxConcurrentTasks: 5,
        supportsStreaming: true,
      },
      heartbeatIntervalMs: 30,
    });
    expect(agent.id).toMatch(/^agent-/);
    await rejectsWith(h.tcp.agents.register({ name: "python-executor" }), AlreadyExistsError);
    await rejectsWith(h.tcp.agents.register({ name: "" }), InvalidArgumentError);
    // 25 heartbeats 30 ms apart span more than twice the server's 300 ms window.
    await until(() => agent.heartbeats >= 25, 10_000);
    const rec = baaahtModule(h.server).store.agents.get(agent.id);
    expect(rec?.liveness).toBe("healthy");
    expect(rec?.agent.status).toBe(Status.RUNNING);
    await agent.unregister({ reason: "done" });
    expect(baaahtModule(h.server).store.agents.has(agent.id)).toBe(false);
    await rejectsWith(h.unix.tasks.execute({ type: "CODE_EXECUTION", agentId: agent.id }), NotFoundError);
  });

  it("missed heartbeats mark an agent unhealthy, then offline (no more routing)", async () => {
    const agent = await h.unix.agents.register({
      name: "sleepy",
      capabilities: { supportedTasks: ["data-processing"] },
      heartbeatIntervalMs: 3_600_000,
    });
    const rec = () => baaahtModule(h.server).store.agents.get(agent.id);
    await until(() => rec()?.liveness === "unhealthy", 2000);
    expect(rec()?.agent.status).toBe(Status.ERROR);
    await until(() => rec()?.liveness === "offline", 2000);
    expect(rec()?.agent.state).toBe(AgentState.TERMINATED);
    await rejectsWith(h.unix.tasks.execute({ type: "DATA_PROCESSING" }), FailedPreconditionError);
    // A heartbeat brings it back.
    await agent.heartbeat();
    expect(rec()?.liveness).toBe("healthy");
    const task = await h.unix.tasks.execute({ type: "DATA_PROCESSING" });
    expect((await task.get()).agentId).toBe(agent.id);
    await agent.unregister();
  });

  it("round trip: the agent receives a task, streams progress and output, completes; the caller follows", async () => {
    const agent = await h.unix.agents.register({
      name: "runner",
      capabilities: { supportedTasks: ["code-execution"] },
    });
    const worker = (async () => {
      const task = await nextTask(agent);
      expect(new TextDecoder().decode(task.input)).toBe("print('hello')");
      await task.progress(0.5, { message: "halfway" });
      await task.output("hello\n");
      await task.complete({ exitCode: 0, outputText: "hello\n" });
    })();
    const session = await h.tcp.sessions.create();
    const task = await h.tcp.tasks.execute({
      type: "CODE_EXECUTION",
      sessionId: session.id,
      config: { command: "python", inputData: new TextEncoder().encode("print('hello')") },
    });
    const queued = await task.get();
    expect(queued.agentId).toBe(agent.id);
    expect(queued.sessionId).toBe(session.id);
    const updates = await all(task.stream());
    await worker;
    expect(updates.map((u) => u.kind)).toEqual(["status", "progress", "output", "complete"]);
    const progress = updates.find((u) => u.kind === "progress");
    expect(progress?.kind === "progress" && progress.progress.message).toBe("halfway");
    const out = updates.find((u) => u.kind === "output");
    expect(out?.kind === "output" && out.output).toMatchObject({ text: "hello\n", streamType: "stdout" });
    const final = await h.unix.tasks.get(task.id);
    expect(final.state).toBe(TaskState.COMPLETED);
    expect(final.result?.outputText).toBe("hello\n");
    expect(final.progress).toBe(1);
    const completed = await h.unix.tasks.list({ agentId: agent.id, state: "COMPLETED" }).toArray();
    expect(completed.map((t) => t.id)).toEqual([task.id]);
    expect((await agent.tasks({ state: "COMPLETED" }).toArray()).map((t) => t.id)).toEqual([task.id]);
    expect((await session.get()).context?.taskHistory).toEqual([task.id]);
    await agent.unregister();
  });

  it("a task stream resumes after a dropped connection without loss or duplicates", async () => {
    const agent = await h.unix.agents.register({
      name: "resumed",
      capabilities: { supportedTasks: ["tool-execution"] },
    });
    const worker = (async () => {
      const t = await nextTask(agent);
      for (const p of [0.25, 0.5, 0.75]) await t.progress(p);
      await t.output("done\n");
      await t.complete({ exitCode: 0 });
    })();
    const task = await h.unix.tasks.execute({ type: "TOOL_EXECUTION" });
    await worker;
    const clean = await all(task.stream());
    const drop = dropStreamOnce("StreamTask", 2);
    const c = h.client("unix", { interceptors: [drop.interceptor] });
    const resumed = await all(c.tasks.getHandle(task.id).stream());
    expect(drop.drops()).toBe(1);
    expect(resumed).toEqual(clean);
    expect(clean.map((u) => u.kind)).toEqual(["status", "progress", "progress", "progress", "output", "complete"]);
    await agent.unregister();
  });

  it("streams input from the caller to the agent, and failures back", async () => {
    const agent = await h.unix.agents.register({ name: "echo", capabilities: { supportedTasks: ["*"] } });
    const worker = (async () => {
      const task = await nextTask(agent);
      const chunks: string[] = [];
      for await (const data of task.inputs) {
        chunks.push(new TextDecoder().decode(data));
        if (chunks.length === 2) break;
      }
      expect(agent.runningTasks).toEqual([task.id]);
      await task.fail(`got ${chunks.join("+")}`, { code: "E_TEST" });
      expect(agent.runningTasks).toEqual([]);
    })();
    const task = await h.unix.tasks.execute({ type: "CUSTOM" });
    const stream = task.stream();
    await stream.sendInput("a");
    await stream.sendInput("b", { metadata: { part: "2" } });
    const updates = await all(stream);
    await worker;
    const last = updates.at(-1);
    expect(last?.kind === "error" && last.error).toMatchObject({ code: "E_TEST", message: "got a+b" });
    expect((await task.get()).state).toBe(TaskState.FAILED);
    await agent.unregister();
  });

  it("CancelTask reaches the agent and ends the caller's stream", async () => {
    const agent = await h.unix.agents.register({
      name: "cancellable",
      capabilities: { supportedTasks: ["network-request"] },
    });
    let aborted = false;
    const worker = (async () => {
      const task = await nextTask(agent);
      await task.progress(0.1);
      await new Promise<void>((resolve) => task.signal.addEventListener("abort", () => resolve(), { once: true }));
      aborted = true;
      return task;
    })();
    const task = await h.unix.tasks.execute({ type: "NETWORK_REQUEST" });
    const [first] = await take(task.stream(), 1);
    expect(first?.kind).toBe("status");
    expect(await h.unix.tasks.cancel(task.id, { reason: "user asked" })).toBe(true);
    const routed = await worker;
    expect(aborted).toBe(true);
    expect((await task.get()).state).toBe(TaskState.CANCELLED);
    expect(await task.cancel()).toBe(false);
    // The abort closed the agent's side of the task: reports fail, and the handle forgot it.
    await rejectsWith(routed.progress(0.5), CanceledError);
    expect(agent.runningTasks).toEqual([]);
    await agent.unregister();
  });

  it("the caller can cancel the task over StreamTask, or just stop watching", async () => {
    const agent = await h.unix.agents.register({ name: "c2", capabilities: { supportedTasks: ["file-operation"] } });
    const task = await h.unix.tasks.execute({ type: "FILE_OPERATION" });
    const stream = task.stream();
    await stream.cancelTask({ reason: "from the stream" });
    const updates = await all(stream);
    const last = updates.at(-1);
    expect(last?.kind === "status" && last.status.state).toBe(TaskState.CANCELLED);
    const other = await h.unix.tasks.execute({ type: "FILE_OPERATION" });
    const watch = other.stream();
    await watch.ready;
    watch.cancel();
    expect(await all(watch)).toEqual([]);
    expect((await other.get()).state).toBe(TaskState.QUEUED);
    await agent.unregister();
  });

  it("getHandle(id) attaches to an agent registered elsewhere and receives its tasks", async () => {
    const { agentId } = await h.tcp.raw.agent.register({
      name: "elsewhere",
      type: AgentType.WORKER,
      capabilities: { supportedTasks: ["custom"] },
    });
    const agent = h.unix.agents.getHandle(agentId, { heartbeatIntervalMs: 50 });
    expect(agent.heartbeats).toBe(0);
    await agent.ready;
    const received = nextTask(agent);
    const task = await h.unix.tasks.execute({ type: "CUSTOM", agentId });
    const got = await received;
    expect(got.id).toBe(task.id);
    await got.complete();
    expect((await task.get()).state).toBe(TaskState.COMPLETED);
    await until(() => agent.heartbeats >= 1);
    await agent.unregister();
    expect(baaahtModule(h.server).store.agents.has(agentId)).toBe(false);
  });

  it("routes only to agents supporting the type, and refuses unknown tasks", async () => {
    await rejectsWith(h.unix.tasks.execute({ type: "CONTAINER_OPERATION" }), FailedPreconditionError);
    await rejectsWith(h.unix.tasks.get("task-missing"), NotFoundError);
    const missing = h.unix.tasks.getHandle("task-missing").stream();
    await rejectsWith(missing.ready, NotFoundError);
    await rejectsWith(all(missing), NotFoundError);
    const agent = await h.unix.agents.register({ name: "picky", capabilities: { supportedTasks: ["tool-execution"] } });
    await rejectsWith(h.unix.tasks.execute({ type: "CODE_EXECUTION", agentId: agent.id }), FailedPreconditionError);
    await agent.unregister();
  });
});
