import { randomUUID } from "node:crypto";
import type { Plan, TaskResult } from "@baton/wire/edgemesh";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Clock } from "../clock.js";
import type { DeviceRecord } from "./registry.js";

/** QUEUED, RUNNING, DONE or FAILED: the states of jobs and of their tasks. */
export type RunState = "QUEUED" | "RUNNING" | "DONE" | "FAILED";

/** One task of a job. */
export interface TaskRecord {
  taskId: string;
  kind: string;
  input: string;
  /** Position of its group in the plan, from 0. */
  groupIndex: number;
  deviceId: string;
  deviceName: string;
  state: RunState;
  result: string;
  error: string;
  startedAtMs: number;
  endedAtMs: number;
}

/** A job. */
export interface JobRecord {
  id: string;
  text: string;
  state: RunState;
  /** Tasks in plan order. */
  tasks: TaskRecord[];
  /** The same tasks by group, groups in execution order. */
  groups: TaskRecord[][];
  reduce: string;
  finalResult: string;
  /** How many groups have started (1-based number of the group running; 0 while QUEUED). */
  currentGroup: number;
  createdAtMs: number;
  startedAtMs: number;
  endedAtMs: number;
}

/** Runs one task on a device: locally, or through `RunTask` on that device. */
export type TaskRunner = (device: DeviceRecord | undefined, task: TaskRecord, jobId: string) => Promise<TaskResult>;

/** Kinds a task may have. */
export const TASK_KINDS = ["SYSINFO", "ECHO", "LLM_GENERATE"] as const;

/**
 * Assigns every task of a plan to a device: its `target_device_id`, or, for the others, a
 * round robin per group over the candidates in route order (`LLM_GENERATE` tasks over the
 * devices with a local model, the others over every live device), the first `maxWorkers`
 * of them when that is above 0. Groups run in their `index` order (ties: plan order).
 *
 * @throws {ConnectError} INVALID_ARGUMENT for an empty plan, a duplicate task id or an
 *   unknown reduce kind; NOT_FOUND for a target that is not a live device.
 */
export function planJob(
  clock: Clock,
  text: string,
  plan: Plan,
  reduce: string,
  live: readonly DeviceRecord[],
  maxWorkers: number,
): JobRecord {
  if (plan.groups.length === 0 || plan.groups.every((g) => g.tasks.length === 0))
    throw new ConnectError("the plan has no tasks", Code.InvalidArgument);
  const reduceKind = reduce === "" ? "CONCAT" : reduce.toUpperCase();
  if (reduceKind !== "CONCAT")
    throw new ConnectError(`unknown reduce kind ${JSON.stringify(reduce)}`, Code.InvalidArgument);
  const workers = maxWorkers > 0 ? live.slice(0, maxWorkers) : [...live];
  const withModel = live.filter((d) => d.info.hasLocalModel);
  const ordered = plan.groups.map((g, i) => ({ g, i })).sort((a, b) => a.g.index - b.g.index || a.i - b.i);
  const seen = new Set<string>();
  const groups = ordered.map(({ g }, gi) => {
    let rr = 0;
    let rrModel = 0;
    return g.tasks.map((t, ti): TaskRecord => {
      const taskId = t.taskId || `g${gi}-t${ti}`;
      if (seen.has(taskId)) throw new ConnectError(`duplicate task id ${JSON.stringify(taskId)}`, Code.InvalidArgument);
      seen.add(taskId);
      const kind = t.kind.toUpperCase();
      let device: DeviceRecord | undefined;
      if (t.targetDeviceId !== "") {
        device = live.find((d) => d.info.deviceId === t.targetDeviceId);
        if (!device)
          throw new ConnectError(
            `task ${taskId}: no live device ${JSON.stringify(t.targetDeviceId)} in the mesh`,
            Code.NotFound,
          );
      } else if (kind === "LLM_GENERATE") {
        device = withModel.length ? withModel[rrModel++ % withModel.length] : undefined;
      } else {
        device = workers.length ? workers[rr++ % workers.length] : undefined;
      }
      return {
        taskId,
        kind,
        input: t.input,
        groupIndex: gi,
        deviceId: device?.info.deviceId ?? "",
        deviceName: device?.info.deviceName ?? "",
        state: "QUEUED",
        result: "",
        error: "",
        startedAtMs: 0,
        endedAtMs: 0,
      };
    });
  });
  return {
    id: randomUUID(),
    text,
    state: "QUEUED",
    tasks: groups.flat(),
    groups,
    reduce: reduceKind,
    finalResult: "",
    currentGroup: 0,
    createdAtMs: clock.now(),
    startedAtMs: 0,
    endedAtMs: 0,
  };
}

/**
 * Runs a job: its groups one after the other, the tasks of a group at the same time. A
 * failed task fails the job once its group has finished; later groups never start. On
 * success, CONCAT joins the outputs in plan order, one per line, into `finalResult`.
 */
export async function runJob(
  clock: Clock,
  job: JobRecord,
  devices: (id: string) => DeviceRecord | undefined,
  run: TaskRunner,
): Promise<void> {
  job.state = "RUNNING";
  job.startedAtMs = clock.now();
  for (const group of job.groups) {
    job.currentGroup++;
    await Promise.all(
      group.map(async (task) => {
        task.state = "RUNNING";
        task.startedAtMs = clock.now();
        let res: TaskResult | undefined;
        let error = "";
        try {
          res = await run(task.deviceId === "" ? undefined : devices(task.deviceId), task, job.id);
          if (!res.ok) error = res.error || "task failed";
        } catch (err) {
          error = err instanceof ConnectError ? err.rawMessage : String(err);
        }
        task.endedAtMs = clock.now();
        task.result = res?.output ?? "";
        task.error = error;
        task.state = error ? "FAILED" : "DONE";
      }),
    );
    if (group.some((t) => t.state === "FAILED")) {
      job.state = "FAILED";
      job.endedAtMs = clock.now();
      return;
    }
  }
  job.finalResult = job.tasks.map((t) => t.result).join("\n");
  job.state = "DONE";
  job.endedAtMs = clock.now();
}
