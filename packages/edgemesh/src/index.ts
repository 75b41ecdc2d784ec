/**
 * `@baton/edgemesh`: the typed client for edgemesh, a mesh of devices where a coordinator
 * routes commands and jobs to the best device. Sessions kept alive for you, devices, routed
 * commands with a typed policy, jobs with a plan builder, plan previews and an offline cost
 * model that matches the server's, download tickets and ReadFile, local LLM tasks, chat
 * memory and WebRTC handshakes.
 *
 * @packageDocumentation
 */

export * from "@baton/core/errors";
export { ChatMemory } from "./chat-memory.js";
export {
  DEFAULT_EDGEMESH_ADDRESS,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  EDGEMESH_ADDRESS_ENV,
  EdgemeshClient,
  type EdgemeshClientOptions,
} from "./client.js";
export { type CommandResult, Commands, type RoutedCommandResult, type RoutingPolicy } from "./commands.js";
export {
  type Activity,
  type Device,
  DeviceHandle,
  type DeviceInput,
  type DeviceStatus,
  Devices,
  type MetricsSample,
} from "./devices.js";
export { type DownloadTicket, type FileContent, Files, type ReadFileMode } from "./files.js";
export {
  type JobDetail,
  JobHandle,
  type JobState,
  type JobStatus,
  Jobs,
  type JobTask,
  type SubmitJobInput,
} from "./jobs.js";
export { type AiTaskResult, Llm, type LlmResult } from "./llm.js";
export {
  type DeviceCost,
  estimatePlanCost,
  PlanBuilder,
  type PlanCost,
  type PlanInput,
  type StepCost,
  type TaskSpecInput,
} from "./plan.js";
export { type PlanPreview, Plans } from "./plans.js";
export type { ConnectInput, Session } from "./session.js";
export { WebRtc } from "./webrtc.js";
