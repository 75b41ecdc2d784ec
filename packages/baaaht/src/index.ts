/**
 * `@baton/baaaht`: the typed client for the baaaht orchestrator: sessions with streaming
 * chat, containers, resumable events, agents with streamed tasks, gateway chat and health,
 * over the orchestrator's Unix socket (or TCP).
 *
 * @packageDocumentation
 */
export {
  AgentHandle,
  type AgentInbound,
  Agents,
  AgentTask,
  ChatRequest,
  type ExecuteTaskInput,
  type ListTasksInput,
  type RegisterAgentInput,
  TaskStream,
  type TaskUpdate,
} from "./agents.js";
export {
  BaaahtClient,
  type BaaahtClientOptions,
  type BaaahtRawClients,
  DEFAULT_BAAAHT_SOCKET,
  defaultBaaahtAddress,
} from "./client.js";
export { Containers, type ListContainersInput } from "./containers.js";
export { type Classified, DuplexStream, type DuplexStreamOptions } from "./duplex.js";
export { Events, type SubscribeInput } from "./events.js";
export {
  type ChatItem,
  ChatStream,
  type CreateGatewaySessionInput,
  Gateway,
  type GatewayEventsInput,
  type GatewayMessageInput,
} from "./gateway.js";
export { HealthApi, type ServingStatus, type WatchOptions } from "./health.js";
export { PushQueue, type PushQueueOptions } from "./push-queue.js";
export {
  type CreateSessionInput,
  type ListSessionsInput,
  type MessageInput,
  SessionHandle,
  SessionStream,
  type SessionStreamItem,
  type SessionStreamOptions,
  Sessions,
  type UpdateSessionInput,
} from "./sessions.js";
export { msToNs, type StreamSettings, type TimeInput, toTimestamp } from "./shared.js";
