/**
 * `@baton/baaaht`: the typed client for the baaaht orchestrator: sessions with streaming
 * chat, containers, resumable events, agents and tasks with streamed updates, gateway chat
 * and health, over the orchestrator's Unix socket (or TCP).
 *
 * @packageDocumentation
 */
export * from "@baton/core/errors";
export { AgentHandle, type AgentInbound, type UnregisterOptions } from "./agent-handle.js";
export { AgentTask, type FailOptions, type OutputOptions, type ProgressOptions } from "./agent-task.js";
export { type AgentHandleOptions, Agents, type RegisterAgentInput } from "./agents.js";
export { BidiStream } from "./bidi-stream.js";
export { ChatRequest, type ReplyOptions } from "./chat-request.js";
export { type CancelReplyOptions, type ChatItem, ChatStream } from "./chat-stream.js";
export {
  BAAAHT_DEFAULTS,
  BAAAHT_SOCKET_ENV,
  BaaahtClient,
  type BaaahtClientOptions,
  type BaaahtRawClients,
  DEFAULT_BAAAHT_ADDRESS,
  DEFAULT_BAAAHT_SOCKET,
  socketAddress,
} from "./client.js";
export { ContainerHandle, type RemoveContainerOptions, type StopContainerOptions } from "./container-handle.js";
export { Containers, type ListContainersInput } from "./containers.js";
export { type Classified, DuplexStream, type DuplexStreamOptions } from "./duplex.js";
export { Events, type SubscribeInput } from "./events.js";
export { type CreateGatewaySessionInput, Gateway, type ListGatewaySessionsInput } from "./gateway.js";
export type { GatewayEventsInput } from "./gateway-events.js";
export type { GatewayMessageInput } from "./gateway-message.js";
export { type CloseGatewaySessionOptions, GatewaySessionHandle } from "./gateway-session-handle.js";
export { HealthApi, type ServingStatus } from "./health.js";
export type { EnumInput } from "./input.js";
export { PushQueue, type PushQueueOptions } from "./push-queue.js";
export { type CloseSessionOptions, SessionHandle, type UpdateSessionInput } from "./session-handle.js";
export { type MessageInput, SessionStream, type SessionStreamItem } from "./session-stream.js";
export { type CreateSessionInput, type ListSessionsInput, Sessions } from "./sessions.js";
export { DEFAULT_HEARTBEAT_INTERVAL_MS } from "./stream-settings.js";
export { TaskHandle } from "./task-handle.js";
export { type CancelTaskOptions, type TaskInputOptions, TaskStream } from "./task-stream.js";
export type { TaskUpdate } from "./task-update.js";
export { type ExecuteTaskInput, type ListTasksInput, Tasks } from "./tasks.js";
export type { TimeInput } from "./time.js";
export type { TimeWindow } from "./timed-subscription.js";
