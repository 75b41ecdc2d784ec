import {
  AgentSchema,
  AgentState,
  AgentType,
  EventType,
  type HeartbeatRequest,
  type RegisterRequest,
  Status,
  TaskState,
  type UnregisterRequest,
} from "@baton/wire/baaaht";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { alreadyExists, invalid } from "./errors.js";
import { lookup } from "./lookup.js";
import type { BaaahtState } from "./state.js";
import type { AgentRecord } from "./store.js";
import { TERMINAL_TASK } from "./task-types.js";

/** Told when an agent goes offline (unregistered or silent), with why. */
export type OfflineListener = (agent: AgentRecord, reason: string) => void;

/** How many registered agents are in each liveness state. */
export interface AgentCounts {
  /** Agents that heartbeat within `agentHeartbeatTimeoutMs`. */
  healthy: number;
  /** Agents silent longer than `agentHeartbeatTimeoutMs` but less than twice that. */
  unhealthy: number;
  /** Agents silent twice `agentHeartbeatTimeoutMs` or longer: out of routing. */
  offline: number;
}

/**
 * The agents of `agent.v1.AgentService`: they register (a name is taken while its agent is
 * not offline), heartbeat, and unregister. An agent silent for `agentHeartbeatTimeoutMs`
 * (on the clock) is unhealthy, for twice that offline: out of routing, its running tasks
 * failed (by the offline listeners). Any heartbeat, or a message it sends, makes it healthy
 * again. Its state is BUSY while it has unfinished tasks, IDLE otherwise.
 */
export class AgentRegistryRules {
  readonly #s: BaaahtState;
  readonly #offline: OfflineListener[] = [];

  constructor(state: BaaahtState) {
    this.#s = state;
    const timeout = state.settings.agentHeartbeatTimeoutMs;
    state.every("agents:liveness", Math.max(10, Math.floor(timeout / 4)), () => this.checkLiveness());
  }

  /** Adds a listener for agents going offline. */
  onOffline(listener: OfflineListener): void {
    this.#offline.push(listener);
  }

  /** @throws {ConnectError} INVALID_ARGUMENT without a name or type; ALREADY_EXISTS for a name in use. */
  register(req: RegisterRequest) {
    if (!req.name) throw invalid("name is required");
    if (req.type === AgentType.UNSPECIFIED) throw invalid("type is required");
    for (const a of this.#s.store.agents.values()) {
      if (a.agent.name === req.name && a.liveness !== "offline") {
        throw alreadyExists(`an agent named ${req.name} is already registered (${a.agent.id})`);
      }
    }
    const now = this.#s.now();
    const id = this.#s.id("agent");
    const agent = create(AgentSchema, {
      id,
      name: req.name,
      type: req.type,
      state: AgentState.IDLE,
      status: Status.RUNNING,
      registeredAt: timestampFromMs(now),
      lastHeartbeat: timestampFromMs(now),
      ...(req.metadata ? { metadata: req.metadata } : {}),
      ...(req.capabilities ? { capabilities: req.capabilities } : {}),
    });
    this.#s.store.agents.set(id, { agent, lastHeartbeatMs: now, liveness: "healthy" });
    this.#s.agentInbox(id);
    this.#s.emit(EventType.IPC_MESSAGE, {
      source: "agent",
      data: { agent_id: id, name: req.name, action: "registered" },
    });
    return {
      /** The new agent id (`agent-...`). */
      agentId: id,
      /** The registered agent: IDLE, RUNNING. */
      agent,
      /** A fresh opaque token for the registration. */
      registrationToken: this.#s.id("regtok"),
    };
  }

  /** @throws {ConnectError} INVALID_ARGUMENT without an id, NOT_FOUND for an unknown one. */
  get(id: string): AgentRecord {
    return lookup(this.#s.store.agents, id, "agent_id", "agent");
  }

  /** Removes an agent: offline first (its tasks fail), then gone, its inbox closed. @throws {ConnectError} NOT_FOUND. */
  unregister(req: UnregisterRequest) {
    const rec = this.get(req.agentId);
    this.#goOffline(rec, req.reason || "unregistered");
    this.#s.store.agents.delete(rec.agent.id);
    this.#s.dropAgentInbox(rec.agent.id);
    this.#s.emit(EventType.IPC_MESSAGE, {
      source: "agent",
      data: { agent_id: rec.agent.id, action: "unregistered", reason: req.reason },
    });
    return {
      /** Always true: failures throw. */
      success: true,
      /** A human-readable confirmation. */
      message: `agent ${rec.agent.id} unregistered`,
    };
  }

  /** Records a heartbeat (and reported resources); answers the agent's queued tasks. @throws {ConnectError} NOT_FOUND. */
  heartbeat(req: HeartbeatRequest) {
    const rec = this.get(req.agentId);
    this.beat(rec);
    if (req.resources) rec.agent.resources = req.resources;
    const pending = [...this.#s.store.tasks.values()]
      .filter((t) => t.task.agentId === rec.agent.id && t.task.state === TaskState.QUEUED)
      .map((t) => t.task.id);
    return {
      /** The server time of the heartbeat. */
      timestamp: timestampFromMs(this.#s.now()),
      /** Ids of the agent's QUEUED tasks. */
      pendingTasks: pending,
    };
  }

  /** The agent was heard from: an unhealthy or offline agent is healthy again. */
  beat(rec: AgentRecord): void {
    rec.lastHeartbeatMs = this.#s.now();
    rec.agent.lastHeartbeat = timestampFromMs(rec.lastHeartbeatMs);
    if (rec.liveness !== "healthy") {
      rec.liveness = "healthy";
      rec.agent.status = Status.RUNNING;
      this.updateState(rec);
    }
  }

  /** Marks agents that missed heartbeats unhealthy (one window) or offline (two). */
  checkLiveness(): void {
    const now = this.#s.now();
    const window = this.#s.settings.agentHeartbeatTimeoutMs;
    for (const rec of this.#s.store.agents.values()) {
      const silent = now - rec.lastHeartbeatMs;
      if (silent > 2 * window && rec.liveness !== "offline") {
        this.#goOffline(rec, "missed heartbeats");
      } else if (silent > window && rec.liveness === "healthy") {
        rec.liveness = "unhealthy";
        rec.agent.status = Status.ERROR;
      }
    }
  }

  /** Recomputes an agent's active tasks and BUSY/IDLE state from its tasks. */
  updateState(rec: AgentRecord): void {
    if (rec.liveness === "offline") return;
    const active = [...this.#s.store.tasks.values()]
      .filter((t) => t.task.agentId === rec.agent.id && !TERMINAL_TASK.has(t.task.state))
      .map((t) => t.task.id);
    rec.agent.activeTasks = active;
    rec.agent.state = active.length > 0 ? AgentState.BUSY : AgentState.IDLE;
  }

  /** The task names agents that are not offline support, sorted. */
  supportedTasks(): string[] {
    const tasks = new Set<string>();
    for (const a of this.#s.store.agents.values())
      if (a.liveness !== "offline") for (const t of a.agent.capabilities?.supportedTasks ?? []) tasks.add(t);
    return [...tasks].sort();
  }

  /** How many agents are healthy, unhealthy and offline. */
  counts(): AgentCounts {
    const counts: AgentCounts = { healthy: 0, unhealthy: 0, offline: 0 };
    for (const a of this.#s.store.agents.values()) counts[a.liveness]++;
    return counts;
  }

  #goOffline(rec: AgentRecord, reason: string): void {
    rec.liveness = "offline";
    rec.agent.state = AgentState.TERMINATED;
    rec.agent.status = Status.STOPPED;
    for (const l of this.#offline) l(rec, reason);
  }
}
