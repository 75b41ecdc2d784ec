import type {
  Agent,
  Container,
  GatewayMessage,
  GatewaySession,
  ResponseChunk,
  Session,
  Task,
  TaskInput,
} from "@baton/wire/baaaht";

/** A session and the rules' bookkeeping around it. */
export interface SessionRecord {
  /** The wire session (state, metadata, context with history, container ids). */
  session: Session;
  /** Last activity, Unix ms (idle timeout counts from here). */
  lastActivityMs: number;
}

/** A container and where it runs. */
export interface ContainerRecord {
  /** The wire container. */
  container: Container;
}

/** An agent with its liveness bookkeeping. */
export interface AgentRecord {
  /** The wire agent. */
  agent: Agent;
  /** Last heartbeat (or registration), Unix ms. */
  lastHeartbeatMs: number;
  /** Derived liveness: healthy, unhealthy (missed heartbeats) or offline (removed from routing). */
  liveness: "healthy" | "unhealthy" | "offline";
}

/** A task with its inputs and whatever the agent streamed so far. */
export interface TaskRecord {
  /** The wire task. */
  task: Task;
  /** Inputs the caller sent over StreamTask, in order. */
  inputs: TaskInput[];
}

/** A gateway session and its chat history. */
export interface GatewaySessionRecord {
  /** The wire gateway session. */
  session: GatewaySession;
  /** User and assistant messages, oldest first (bounded). */
  messages: GatewayMessage[];
  /** Last activity, Unix ms. */
  lastActivityMs: number;
}

/** The response an agent streams for one gateway message. */
export interface GatewayResponseRecord {
  /** The user message id it answers. */
  messageId: string;
  /** The gateway session. */
  sessionId: string;
  /** Chunks so far, in sequence order. */
  chunks: ResponseChunk[];
  /** Whether the final chunk arrived (or the response was cancelled/failed). */
  done: boolean;
  /** How it ended, once done. */
  outcome: "complete" | "cancelled" | "error" | undefined;
  /** The agent answering it. */
  agentId: string;
}

/**
 * Where the baaaht module keeps its state. The in-memory store is the only one today; the
 * interface keeps the rules independent of it.
 */
export interface BaaahtStore {
  /** Sessions by id. */
  readonly sessions: Map<string, SessionRecord>;
  /** Containers by id. */
  readonly containers: Map<string, ContainerRecord>;
  /** Agents by id. */
  readonly agents: Map<string, AgentRecord>;
  /** Tasks by id. */
  readonly tasks: Map<string, TaskRecord>;
  /** Gateway sessions by id. */
  readonly gatewaySessions: Map<string, GatewaySessionRecord>;
  /** Gateway responses by user message id. */
  readonly responses: Map<string, GatewayResponseRecord>;
}

/** The in-memory {@link BaaahtStore}. */
export class MemoryBaaahtStore implements BaaahtStore {
  readonly sessions = new Map<string, SessionRecord>();
  readonly containers = new Map<string, ContainerRecord>();
  readonly agents = new Map<string, AgentRecord>();
  readonly tasks = new Map<string, TaskRecord>();
  readonly gatewaySessions = new Map<string, GatewaySessionRecord>();
  readonly responses = new Map<string, GatewayResponseRecord>();
}

export { trimTo } from "../retention.js";
