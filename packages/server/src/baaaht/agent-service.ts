import type { AgentService } from "@baton/wire/baaaht";
import type { ServiceImpl } from "@connectrpc/connect";
import type { AgentMessagingRules } from "./agent-messaging-rules.js";
import type { AgentRegistryRules } from "./agent-registry-rules.js";
import type { StatusRules } from "./status-rules.js";
import type { TaskRules } from "./task-rules.js";

/** The rules `agent.v1.AgentService` answers with. */
export interface AgentParts {
  /** Register, heartbeat, unregister, liveness. */
  agents: AgentRegistryRules;
  /** Task execution, status, cancel and streaming. */
  tasks: TaskRules;
  /** Agent messages and the agent stream. */
  messaging: AgentMessagingRules;
  /** HealthCheck and GetStatus. */
  status: StatusRules;
}

/**
 * `agent.v1.AgentService`: registration and liveness (the registry), task dispatch (the
 * tasks), what flows between the server and its agents (messaging), and status.
 * GetCapabilities answers what the agents that are not offline can do together.
 */
export function agentService(p: AgentParts): ServiceImpl<typeof AgentService> {
  return {
    register: (req) => p.agents.register(req),
    unregister: (req) => p.agents.unregister(req),
    heartbeat: (req) => p.agents.heartbeat(req),
    executeTask: (req) => p.tasks.execute(req),
    streamTask: (reqs, ctx) => p.tasks.stream(reqs, ctx),
    cancelTask: (req) => p.tasks.cancel(req),
    listTasks: (req) => p.tasks.list(req),
    getTaskStatus: (req) => p.tasks.status(req),
    streamAgent: (reqs, ctx) => p.messaging.stream(reqs, ctx),
    sendMessage: (req) => p.messaging.send(req),
    healthCheck: () => p.status.agentHealth(),
    getStatus: () => p.status.agentStatus(),
    getCapabilities: () => ({
      capabilities: {
        supportedTasks: p.agents.supportedTasks(),
        supportsStreaming: true,
        supportsCancellation: true,
        supportedProtocols: ["grpc", "connect", "grpc-web"],
      },
    }),
  };
}
