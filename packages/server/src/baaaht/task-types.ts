import { TaskState, TaskType } from "@baton/wire/baaaht";

/** The task states after which a task changes no more. */
export const TERMINAL_TASK: ReadonlySet<TaskState> = new Set([
  TaskState.COMPLETED,
  TaskState.FAILED,
  TaskState.CANCELLED,
  TaskState.TIMEOUT,
]);

/** The name an agent lists in `supported_tasks` for a task type: `code-execution` etc. */
export function taskTypeName(type: TaskType): string {
  return (TaskType[type] ?? "UNSPECIFIED").toLowerCase().replaceAll("_", "-");
}

/** Whether an agent's `supported_tasks` covers a task type (`*` covers every type). */
export function supportsTask(supported: readonly string[], type: TaskType): boolean {
  const name = taskTypeName(type);
  return supported.some((s) => s === "*" || s.toLowerCase().replaceAll("_", "-") === name);
}
