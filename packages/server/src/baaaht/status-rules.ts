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
  containers: ContainerRules;
  agents: AgentRegistryRules;
  tasks: TaskRules;
  gatewaySessions: GatewaySessionRules;
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
      startedAt: timestampFromMs(this.#s.startedAtMs),
      // The contract types uptime as a Timestamp: it carries the duration since start.
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
      health: this.#s.shuttingDown ? Health.UNHEALTHY : rt.available ? Health.HEALTHY : Health.DEGRADED,
      version: BAAAHT_SERVER_VERSION,
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
      status: this.#status(),
      activeSessions: [...this.#s.store.sessions.values()].filter((r) => isOpen(r.session)).length,
      activeContainers: this.#src.containers.running,
      ...this.#times(),
    };
  }

  /** AgentService.HealthCheck. */
  agentHealth() {
    const c = this.#src.agents.counts();
    return {
      status: this.#status(),
      version: BAAAHT_SERVER_VERSION,
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
      status: this.#status(),
      state: active > 0 ? AgentState.BUSY : AgentState.IDLE,
      activeTasks: active,
      ...this.#times(),
    };
  }

  /** GatewayService.HealthCheck. */
  gatewayHealth() {
    const agents = this.#src.chat.chatAgents;
    return {
      health: this.#s.shuttingDown ? Health.UNHEALTHY : agents === 0 ? Health.DEGRADED : Health.HEALTHY,
      version: BAAAHT_SERVER_VERSION,
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
      status: this.#status(),
      activeSessions: this.#src.gatewaySessions.active,
      activeStreams: this.#src.chat.activeStreams,
      ...this.#times(),
    };
  }
}
