import { randomUUID } from "node:crypto";
import type { RunEvent, TaskInput } from "@baton/orca";
import { UsageError } from "./exit-codes.js";
import { columns, type FlagSpecs, type FlagValues, type Verb, type VerbContext } from "./spec.js";

/** Flags that describe a task, shared by `start` (its first task) and `submit`. */
const TASK_FLAGS: FlagSpecs = {
  payload: { type: "string", value: "JSON", description: "the task's payload: JSON text, @file or - (stdin)" },
  "task-id": { type: "string", value: "ID", description: "the task's envelope id (default: a new UUID)" },
  kind: { type: "string", value: "K", description: "envelope kind: agent_task (default), agent_result, agent_error" },
  agent: { type: "string", value: "A", description: "the agent that should handle it (or that produced a result)" },
  "parent-id": { type: "string", value: "ID", description: "the task a result answers" },
  tokens: { type: "string", value: "N", description: "usage hint: tokens, charged against the budget" },
  "cost-micros": { type: "string", value: "N", description: "usage hint: cost in micros" },
  "task-timeout-ms": { type: "string", value: "N", description: "how long the orchestrator may take (0: no limit)" },
  json: {
    type: "string",
    value: "JSON",
    description: "the task as JSON (TaskInput: payload, kind, usage...); flags win",
  },
};

const TASK_FLAG_NAMES = Object.keys(TASK_FLAGS).filter((f) => f !== "json");

/** The task of a command line: `--json`'s object with the flags on top, and an id. */
async function taskOf(flags: FlagValues, ctx: VerbContext): Promise<TaskInput & { id: string }> {
  const body = (await ctx.body()) as TaskInput;
  const payload = await ctx.jsonFlag("payload");
  const tokens = flags.int("tokens");
  const costMicros = flags.int("cost-micros");
  const timeoutMs = flags.int("task-timeout-ms");
  const set = <K extends string, V>(k: K, v: V | undefined) => (v === undefined ? {} : { [k]: v });
  return {
    ...body,
    ...set("payload", payload),
    ...set("kind", flags.string("kind")),
    ...set("agent", flags.string("agent")),
    ...set("parentId", flags.string("parent-id")),
    ...set("timeoutMs", timeoutMs),
    ...(tokens !== undefined || costMicros !== undefined
      ? { usage: { ...body.usage, ...set("tokens", tokens), ...set("costMicros", costMicros) } }
      : {}),
    id: flags.string("task-id") ?? (typeof body.id === "string" ? body.id : randomUUID()),
  };
}

/** A run event without its raw envelope: what `orca events` prints. */
function eventJson(ev: RunEvent) {
  const { envelope: _, ...rest } = ev;
  return rest;
}

/** The `baton orca ...` verbs. */
export const ORCA_VERBS: Verb<"orca">[] = [
  {
    system: "orca",
    words: ["start"],
    summary: "start a run (or join it: the same request again is the same run)",
    description:
      "Prints {runId, taskId, budget}. A first task is sent when any task flag (--payload, --tokens...) is given.",
    args: [{ name: "workflowId", description: "the workflow; ORCA uses it as the run id" }],
    flags: {
      "max-tokens": { type: "string", value: "N", description: "budget: most tokens (0 or unset: unlimited)" },
      "max-cost-micros": { type: "string", value: "N", description: "budget: most cost in micros" },
      ...TASK_FLAGS,
      json: { type: "string", value: "JSON", description: "the first task as JSON (see submit); flags win" },
    },
    async run(orca, ctx) {
      const { flags, args } = ctx;
      const maxTokens = flags.int("max-tokens");
      const maxCostMicros = flags.int("max-cost-micros");
      const withTask = flags.has("json") || TASK_FLAG_NAMES.some((f) => flags.has(f));
      const task = withTask ? await taskOf(flags, ctx) : undefined;
      const run = await orca.runs.start(
        {
          workflowId: args.workflowId ?? "",
          ...(task ? { task } : {}),
          budget: {
            ...(maxTokens !== undefined ? { maxTokens } : {}),
            ...(maxCostMicros !== undefined ? { maxCostMicros } : {}),
          },
        },
        { signal: ctx.signal },
      );
      ctx.out.one({ runId: run.id, ...(task ? { taskId: task.id } : {}), budget: run.budget });
    },
  },
  {
    system: "orca",
    words: ["submit"],
    summary: "submit a task (or a result, with --kind agent_result --parent-id ID)",
    description: "Prints {id, accepted}. Safe to repeat with the same --task-id: it is charged once.",
    args: [{ name: "runId", description: "the run" }],
    flags: TASK_FLAGS,
    async run(orca, ctx) {
      const task = await taskOf(ctx.flags, ctx);
      const res = await orca.runs.getHandle(ctx.args.runId ?? "").submit(task, { signal: ctx.signal });
      ctx.out.one(res);
    },
  },
  {
    system: "orca",
    words: ["events"],
    summary: "print a run's events (NDJSON); --follow keeps streaming live ones",
    args: [{ name: "runId", description: "the run" }],
    flags: {
      from: { type: "string", value: "N", description: "first event id (default 1: the whole history)" },
      max: { type: "string", value: "N", description: "stop after N events" },
      follow: { type: "boolean", description: "keep streaming new events until interrupted (or --max)" },
    },
    columns: columns("ID=id", "KIND=kind", "PARENT=parentId", "AGENT=agent", "PAYLOAD=payload"),
    async run(orca, ctx) {
      const { flags } = ctx;
      const from = flags.int("from");
      const max = flags.int("max");
      const follow = flags.bool("follow");
      const run = orca.runs.getHandle(ctx.args.runId ?? "");
      let n = 0;
      if (follow) ctx.progress.update(`following the events of ${run.id}: 0 so far`);
      for await (const ev of run.events({
        follow,
        signal: ctx.signal,
        ...(from !== undefined ? { from } : {}),
        ...(max !== undefined ? { max } : {}),
      })) {
        ctx.out.item(eventJson(ev));
        n++;
        if (follow) ctx.progress.update(`following the events of ${run.id}: ${n} so far, last ${ev.kind}`);
      }
    },
  },
  {
    system: "orca",
    words: ["result"],
    summary: "print the result of a task; --wait waits for it",
    description:
      "Prints {ok, kind, payload} for an agent_result, {ok: false, kind, error} for an agent_error.\n" +
      "With --wait, --timeout-ms bounds the whole wait (exit 6 when it passes).",
    args: [
      { name: "runId", description: "the run" },
      { name: "taskId", description: "the task's envelope id" },
    ],
    flags: {
      wait: { type: "boolean", description: "wait for a result that does not exist yet" },
    },
    async run(orca, ctx) {
      const wait = ctx.flags.bool("wait");
      const timeoutMs = ctx.flags.int("timeout-ms");
      const taskId = ctx.args.taskId ?? "";
      if (taskId === "") throw new UsageError("taskId must not be empty");
      if (wait) ctx.progress.update(`waiting for the result of ${taskId}`);
      const res = await orca.runs.getHandle(ctx.args.runId ?? "").result(taskId, {
        wait,
        signal: ctx.signal,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      });
      ctx.progress.stop();
      ctx.out.one(
        res.ok
          ? { ok: true, kind: res.kind, taskId, payload: res.payload }
          : { ok: false, kind: res.kind, taskId, error: res.error },
      );
    },
  },
];
