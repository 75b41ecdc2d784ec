import type { AgentTask, TaskUpdate } from "@baton/baaaht";
import { AgentState, Status, TaskState } from "@baton/baaaht/wire";
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from "@baton/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, rejectsWith, startHarness, take, until } from "./helpers.js";
import { baaahtModule } from "./server-shim.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ "baaaht.agentHeartbeatTimeoutMs": "300" });
});
afterAll(async () => {
  await h?.close();
});

/** Takes the next task routed to the agent. */
async function nextTask(agent: AsyncIterable<import("@baton/baaaht").AgentInbound>): Promise<AgentTask> {
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
    await until(() => agent.heartbeats >= 3);
    // Heartbeats (every 30 ms) keep it healthy well past the 300 ms window.
    await new Promise((r) => setTimeout(r, 700));
    const rec = baaahtModule(h.server).store.agents.get(agent.id);
    expect(rec?.liveness).toBe("healthy");
    expect(rec?.agent.status).toBe(Status.RUNNING);
    await agent.unregister("done");
    expect(baaahtModule(h.server).store.agents.has(agent.id)).toBe(false);
    await rejectsWith(h.unix.agents.executeTask({ type: "CODE_EXECUTION", agentId: agent.id }), NotFoundError);
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
    await rejectsWith(h.unix.agents.executeTask({ type: "DATA_PROCESSING" }), FailedPreconditionError);
    // A heartbeat brings it back.
    await agent.heartbeat();
    expect(rec()?.liveness).toBe("healthy");
    const task = await h.unix.agents.executeTask({ type: "DATA_PROCESSING" });
    expect(task.agentId).toBe(agent.id);
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
      await task.progress(0.5, "halfway");
      await task.output("hello\n");
      await task.complete({ exitCode: 0, outputText: "hello\n" });
    })();
    const { handle: session } = await h.tcp.sessions.create();
    const task = await h.tcp.agents.executeTask({
      type: "CODE_EXECUTION",
      sessionId: session.id,
      config: { command: "python", inputData: new TextEncoder().encode("print('hello')") },
    });
    expect(task.agentId).toBe(agent.id);
    expect(task.state).toBe(TaskState.QUEUED);
    const updates: TaskUpdate[] = [];
    for await (const u of h.tcp.agents.streamTask(task.id)) updates.push(u);
    await worker;
    expect(updates.map((u) => u.kind)).toEqual(["status", "progress", "output", "complete"]);
    const out = updates.find((u) => u.kind === "output");
    expect(out?.kind === "output" && out.output.text).toBe("hello\n");
    const final = await h.unix.agents.getTaskStatus(task.id);
    expect(final.state).toBe(TaskState.COMPLETED);
    expect(final.result?.outputText).toBe("hello\n");
    expect(final.progress).toBe(1);
    expect((await h.unix.agents.listTasks({ agentId: agent.id, state: "COMPLETED" })).map((t) => t.id)).toEqual([
      task.id,
    ]);
    expect((await session.get()).context?.taskHistory).toEqual([task.id]);
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
      await task.fail(`got ${chunks.join("+")}`, "E_TEST");
    })();
    const task = await h.unix.agents.executeTask({ type: "CUSTOM" });
    const stream = h.unix.agents.streamTask(task.id);
    await stream.sendInput("a");
    await stream.sendInput("b");
    const updates: TaskUpdate[] = [];
    for await (const u of stream) updates.push(u);
    await worker;
    const last = updates.at(-1);
    expect(last?.kind === "error" && last.error).toMatchObject({ code: "E_TEST", message: "got a+b" });
    expect((await h.unix.agents.getTaskStatus(task.id)).state).toBe(TaskState.FAILED);
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
    })();
    const task = await h.unix.agents.executeTask({ type: "NETWORK_REQUEST" });
    const stream = h.unix.agents.streamTask(task.id);
    const [first] = await take(stream, 1);
    expect(first?.kind).toBe("status");
    expect(await h.unix.agents.cancelTask(task.id, "user asked")).toBe(true);
    await worker;
    expect(aborted).toBe(true);
    expect((await h.unix.agents.getTaskStatus(task.id)).state).toBe(TaskState.CANCELLED);
    expect(await h.unix.agents.cancelTask(task.id)).toBe(false);
    await agent.unregister();
  });

  it("the caller can cancel the task over StreamTask, or just stop watching", async () => {
    const agent = await h.unix.agents.register({ name: "c2", capabilities: { supportedTasks: ["file-operation"] } });
    const task = await h.unix.agents.executeTask({ type: "FILE_OPERATION" });
    const stream = h.unix.agents.streamTask(task.id);
    await stream.cancelTask("from the stream");
    const updates: TaskUpdate[] = [];
    for await (const u of stream) updates.push(u);
    const last = updates.at(-1);
    expect(last?.kind === "status" && last.status.state).toBe(TaskState.CANCELLED);
    const other = await h.unix.agents.executeTask({ type: "FILE_OPERATION" });
    const watch = h.unix.agents.streamTask(other.id);
    await watch.ready;
    watch.cancel();
    for await (const _ of watch) throw new Error("a cancelled stream yields nothing");
    expect((await h.unix.agents.getTaskStatus(other.id)).state).toBe(TaskState.QUEUED);
    await agent.unregister();
  });

  it("routes only to agents supporting the type, and refuses unknown tasks", async () => {
    await rejectsWith(h.unix.agents.executeTask({ type: "CONTAINER_OPERATION" }), FailedPreconditionError);
    await rejectsWith(h.unix.agents.getTaskStatus("task-missing"), NotFoundError);
    const agent = await h.unix.agents.register({ name: "picky", capabilities: { supportedTasks: ["tool-execution"] } });
    await rejectsWith(
      h.unix.agents.executeTask({ type: "CODE_EXECUTION", agentId: agent.id }),
      FailedPreconditionError,
    );
    await agent.unregister();
  });
});
