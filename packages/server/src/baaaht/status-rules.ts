import { AgentState, Health, Status } from "@baton/wire/baaaht";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { AgentRegistryRules } from "./agent-registry-rules.js";
import type { ChatRules } from "./chat-rules.js";
import type { ContainerRules } from "./container-rules.js";
import type { GatewaySessionRules } from "./gateway-session-rules.js";
import { isOpen } from "./session-rules.js";
import type { BaaahtState } from "./state.js";
import type { TaskRules } from "./task-rules.js";
import { BAAAHT_SERVER_VERSION } from "./version.js";

/** What the status answers are read from. */
export interface StatusSources {
  /** The containers, for the running count. */
  containers: ContainerRules;
  /** The agent registry, for agent counts by liveness. */
  agents: AgentRegistryRules;
  /** The tasks, for the active count. */
  tasks: TaskRules;
  /** The gateway sessions, for the active count. */
  gatewaySessions: GatewaySessionRules;
  /** The chat router, for agents answering chat and open streams. */
  chat: ChatRules;
}

/**
 * The HealthCheck and GetStatus answers of the three baaaht services, read from the state
 * when asked. Each HealthCheck lists the subsystems it checked with what it found:
 * - orchestrator: HEALTHY; DEGRADED while the container runtime cannot start containers
 *   (sessions and messages still work); UNHEALTHY while the server shuts down.
 * - agent: RUNNING, or STOPPING while the server shuts down; agents by liveness, active tasks.
 * - gateway: HEALTHY; DEGRADED while no healthy agent answers chat (replies would fail);
 *   UNHEALTHY while the server shuts down.
 * GetStatus says RUNNING, or STOPPING while the server shuts down, with the counts.
 */
export class StatusRules {
  readonly #s: BaaahtState;
  readonly #src: StatusSources;

  constructor(state: BaaahtState, sources: StatusSources) {
    this.#s = state;
    this.#src = sources;
  }

  #status(): Status {
    return this.#s.shuttingDown ? Status.STOPPING : Status.RUNNING;
  }

  #times() {
    return {
      /** When the server started. */
      startedAt: timestampFromMs(this.#s.startedAtMs),
      // The contract types uptime as a Timestamp: it carries the duration since start.
      /** Time since start, carried as a Timestamp (seconds and nanos since the epoch = the duration), as the contract types it. */
      uptime: timestampFromMs(this.#s.now() - this.#s.startedAtMs),
    };
  }

  /** OrchestratorService.HealthCheck. */
  orchestratorHealth() {
    const runtime = this.#s.runtime;
    const rt = runtime.health();
    const sessions = [...this.#s.store.sessions.values()];
    const open = sessions.filter((r) => isOpen(r.session)).length;
    return {
      /** HEALTHY; DEGRADED while the container runtime cannot start containers; UNHEALTHY while shutting down. */
      health: this.#s.shuttingDown ? Health.UNHEALTHY : rt.available ? Health.HEALTHY : Health.DEGRADED,
      /** The server's version ({@link BAAAHT_SERVER_VERSION}). */
      version: BAAAHT_SERVER_VERSION,
      /** One line per subsystem checked, with what it found. */
      subsystems: [
        `sessions: ${open} open of ${sessions.length}`,
        `containers: ${this.#src.containers.running} running`,
        `events: ${this.#s.events.lastSeq} logged, ${this.#s.events.followers} subscribers`,
        `container-runtime ${runtime.description}: ${rt.available ? "available" : "unavailable"} (${rt.detail})`,
      ],
    };
  }

  /** OrchestratorService.GetStatus. */
  orchestratorStatus() {
    return {
      /** RUNNING, or STOPPING while the server shuts down. */
      status: this.#status(),
      /** Sessions not closed. */
      activeSessions: [...this.#s.store.sessions.values()].filter((r) => isOpen(r.session)).length,
      /** Containers running now. */
      activeContainers: this.#src.containers.running,
      ...this.#times(),
    };
  }

  /** AgentService.HealthCheck. */
  agentHealth() {
    const c = this.#src.agents.counts();
    return {
      /** RUNNING, or STOPPING while the server shuts down. */
      status: this.#status(),
      /** The server's version ({@link BAAAHT_SERVER_VERSION}). */
      version: BAAAHT_SERVER_VERSION,
      /** One line per subsystem checked, with what it found. */
      subsystems: [
        `agents: ${c.healthy} healthy, ${c.unhealthy} unhealthy, ${c.offline} offline`,
        `tasks: ${this.#src.tasks.active} active`,
      ],
    };
  }

  /** AgentService.GetStatus. */
  agentStatus() {
    const active = this.#src.tasks.active;
    return {
      /** RUNNING, or STOPPING while the server shuts down. */
      status: this.#status(),
      /** BUSY while any task is active, else IDLE. */
      state: active > 0 ? AgentState.BUSY : AgentState.IDLE,
      /** Tasks assigned and not finished. */
      activeTasks: active,
      ...this.#times(),
    };
  }

  /** GatewayService.HealthCheck. */
  gatewayHealth() {
    const agents = this.#src.chat.chatAgents;
    return {
      /** HEALTHY; DEGRADED while no healthy agent answers chat; UNHEALTHY while shutting down. */
      health: this.#s.shuttingDown ? Health.UNHEALTHY : agents === 0 ? Health.DEGRADED : Health.HEALTHY,
      /** The server's version ({@link BAAAHT_SERVER_VERSION}). */
      version: BAAAHT_SERVER_VERSION,
      /** One line per subsystem checked, with what it found. */
      subsystems: [
        `sessions: ${this.#src.gatewaySessions.active} active`,
        `chat: ${agents} healthy agents answer chat`,
        `streams: ${this.#src.chat.activeStreams} open`,
      ],
    };
  }

  /** GatewayService.GetStatus. */
  gatewayStatus() {
    return {
      /** RUNNING, or STOPPING while the server shuts down. */
      status: this.#status(),
      /** Gateway sessions not closed. */
      activeSessions: this.#src.gatewaySessions.active,
      /** Chat streams open now. */
      activeStreams: this.#src.chat.activeStreams,
      ...this.#times(),
    };
  }
}
