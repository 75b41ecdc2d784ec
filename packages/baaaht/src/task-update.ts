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
  | {
      /** Switch on this: output the task produced (stdout/stderr data). */
      kind: "output";
      /** The output chunk: `data`/`text` and its `streamType` (stdout, stderr, ...). */
      output: TaskOutput;
    }
  | {
      /** Switch on this: a progress report. */
      kind: "progress";
      /** The progress: `percent` done (0-100), a message and details. */
      progress: TaskProgress;
    }
  | {
      /** Switch on this: the task changed state. */
      kind: "status";
      /** The new state. */
      status: TaskStatusUpdate;
    }
  | {
      /** Switch on this: the task finished; no update follows. */
      kind: "complete";
      /** The task id, its `result` and when it completed. */
      complete: TaskComplete;
    }
  | {
      /** Switch on this: the task failed; no update follows. */
      kind: "error";
      /** What went wrong. */
      error: TaskError;
    };

/** A client frame of StreamTask. */
export type TaskFrame = MessageInitShape<typeof StreamTaskRequestSchema>;

/** The StreamTask frames as {@link TaskUpdate}s. */
export const classifyTaskUpdate = oneofItems<TaskUpdate>(["output", "progress", "status", "complete", "error"]);

/** A heartbeat frame of a task's stream (also the frame that attaches the stream to the task). */
export function taskHeartbeat(taskId: string): TaskFrame {
  return { taskId, payload: { case: "heartbeat", value: {} } };
}
