import type {
  StreamTaskRequestSchema,
  TaskComplete,
  TaskError,
  TaskOutput,
  TaskProgress,
  TaskStatusUpdate,
} from "@baton/wire/baaaht";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { oneofItems } from "./oneof.js";

/** An update of a task, as StreamTask carries it (to the caller, and echoed to the agent). */
export type TaskUpdate =
  | { kind: "output"; output: TaskOutput }
  | { kind: "progress"; progress: TaskProgress }
  | { kind: "status"; status: TaskStatusUpdate }
  | { kind: "complete"; complete: TaskComplete }
  | { kind: "error"; error: TaskError };

/** A client frame of StreamTask. */
export type TaskFrame = MessageInitShape<typeof StreamTaskRequestSchema>;

/** The StreamTask frames as {@link TaskUpdate}s. */
export const classifyTaskUpdate = oneofItems<TaskUpdate>(["output", "progress", "status", "complete", "error"]);

/** A heartbeat frame of a task's stream (also the frame that attaches the stream to the task). */
export function taskHeartbeat(taskId: string): TaskFrame {
  return { taskId, payload: { case: "heartbeat", value: {} } };
}
