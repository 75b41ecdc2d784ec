/**
 * The baaaht seed's "Agent Communication" walkthrough: register a python-executor agent
 * (its handle heartbeats until unregistered), execute a task on it (a task handle), and
 * stream the task's progress, output and completion with StreamTask.
 */
import { BaaahtClient } from "@baton/baaaht";
import { TaskState } from "@baton/baaaht/wire";

const baaaht = new BaaahtClient();

const agent = await baaaht.agents.register({
  name: "python-executor",
  type: "WORKER",
  metadata: { version: "1.0.0", hostname: "host-1" },
  capabilities: {
    supportedTasks: ["code-execution", "file-operation"],
    maxConcurrentTasks: 5,
    supportsStreaming: true,
  },
});
console.log(`registered agent ${agent.id}`);

// The agent's side: take tasks, report progress and output, complete.
const worker = (async () => {
  for await (const item of agent) {
    if (item.kind !== "task") continue;
    const code = new TextDecoder().decode(item.task.input);
    console.log(`agent: got task ${item.task.id}: ${code}`);
    await item.task.progress(0.5, { message: "running" });
    await item.task.output("hello\n");
    await item.task.complete({ exitCode: 0, outputText: "hello\n" });
    return;
  }
})();

// The caller's side.
const task = await baaaht.tasks.execute({
  type: "CODE_EXECUTION",
  config: { command: "python", inputData: new TextEncoder().encode("print('hello')") },
});
console.log(`executing task ${task.id} on ${(await task.get()).agentId}`);
for await (const u of task.stream()) {
  if (u.kind === "output") console.log(`Output: ${u.output.text.trimEnd()}`);
  else if (u.kind === "progress") console.log(`Progress: ${(u.progress.percent * 100).toFixed(0)}%`);
  else if (u.kind === "complete") console.log(`Complete: exit code ${u.complete.result?.exitCode}`);
  else if (u.kind === "status") console.log(`Status: ${TaskState[u.status.state]}`);
}
await worker;
const status = await task.get();
console.log(`task ${task.id}: ${TaskState[status.state]}, heartbeats sent so far: ${agent.heartbeats}`);
const done = await agent.tasks({ state: "COMPLETED" }).toArray();
console.log(`tasks ${agent.id} completed: ${done.map((t) => t.id).join(", ")}`);
await agent.unregister({ reason: "example done" });
console.log(`unregistered ${agent.id}`);
await baaaht.close();
