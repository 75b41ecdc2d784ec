import { AgentService, EventType, GatewayService, grpcHealth, OrchestratorService } from "@baton/wire/baaaht";
import { type ModuleContext, type ModuleFactory, type ServiceModule, withSettings } from "../module.js";
import { AgentMessagingRules } from "./agent-messaging-rules.js";
import { AgentRegistryRules } from "./agent-registry-rules.js";
import { agentService } from "./agent-service.js";
import { ChatRules } from "./chat-rules.js";
import { ContainerRules } from "./container-rules.js";
import { gatewayService } from "./gateway-service.js";
import { GatewaySessionRules } from "./gateway-session-rules.js";
import { HealthRules } from "./health-rules.js";
import { healthService } from "./health-service.js";
import { MessageRules } from "./message-rules.js";
import { orchestratorService } from "./orchestrator-service.js";
import { type ContainerRuntime, createRuntime } from "./runtime.js";
import { SessionRules } from "./session-rules.js";
import { BAAAHT_SETTING_DECLARATIONS, baaahtSettings } from "./settings.js";
import { BaaahtState } from "./state.js";
import { StatusRules } from "./status-rules.js";
import { type BaaahtStore, MemoryBaaahtStore } from "./store.js";
import { TaskRules } from "./task-rules.js";

const { HealthCheckResponse_ServingStatus: ServingStatus } = grpcHealth;

/**
 * The baaaht module: `orchestrator.v1.OrchestratorService`, `agent.v1.AgentService`,
 * `gateway.v1.GatewayService` and `grpc.health.v1.Health`, over an in-memory store, with
 * the rules split by concept (sessions, messages, containers, agents, tasks, agent
 * messaging, gateway sessions, chat, status, health).
 *
 * Settings: `baaaht.containerRuntime` (`record`, the default, records the container
 * lifecycle without executing anything; `process` runs each container's command as a
 * local child process), `baaaht.agentHeartbeatTimeoutMs`, `baaaht.streamHeartbeatMs`,
 * `baaaht.eventLogSize`, `baaaht.historySize`, and the entity bounds `baaaht.maxTasks`,
 * `baaaht.maxSessions`, `baaaht.maxResponses` (see `BaaahtSettings`).
 *
 * Health: every service is SERVING until the server begins to shut down, then NOT_SERVING
 * (watchers are told before their streams end); the gateway is NOT_SERVING while the
 * orchestrator is (its sessions are orchestrator sessions), and the server as a whole ("")
 * while any service is.
 */
export interface BaaahtModule extends ServiceModule {
  /** Shared state (store, event logs, runtime, clock). */
  readonly state: BaaahtState;
  /** The store. */
  readonly store: BaaahtStore;
  /** Orchestrator operations for callers in the same process (tests create sessions without a client). */
  readonly orchestrator: {
    /** CreateSession as the service answers it. @throws {ConnectError} as {@link SessionRules.create} does. */
    createSession: SessionRules["create"];
  };
  /** Orchestrator sessions. */
  readonly sessions: SessionRules;
  /** Session chat history. */
  readonly messages: MessageRules;
  /** Containers. */
  readonly containers: ContainerRules;
  /** Agent registration and liveness. */
  readonly agents: AgentRegistryRules;
  /** Task dispatch. */
  readonly tasks: TaskRules;
  /** Gateway sessions. */
  readonly gatewaySessions: GatewaySessionRules;
  /** Gateway chat. */
  readonly chat: ChatRules;
  /** HealthCheck and GetStatus answers. */
  readonly status: StatusRules;
  /** `grpc.health.v1` statuses. */
  readonly health: HealthRules;
  /** Sets the `grpc.health.v1` status of a service ("" = the whole server); Watch sees it. */
  setServingStatus(service: string, status: grpcHealth.HealthCheckResponse_ServingStatus): void;
}

/** Options of {@link baaahtModule}. */
export interface BaaahtModuleOptions {
  /** The container runtime (default: the one `baaaht.containerRuntime` names). */
  runtime?: ContainerRuntime;
}

/**
 * A factory of the baaaht module with its own parts: a container runtime of the caller's
 * (another engine, or one a test controls).
 *
 * @example
 * await startServer({ modules: [baaahtModule({ runtime: new ProcessRuntime() })] });
 */
export function baaahtModule(options: BaaahtModuleOptions = {}): ModuleFactory {
  return withSettings((ctx: ModuleContext) => buildBaaahtModule(ctx, options), BAAAHT_SETTING_DECLARATIONS);
}

/** Creates the baaaht module. @throws {Error} for a malformed setting or an unknown container runtime. */
export const createBaaahtModule: ModuleFactory = baaahtModule();

function buildBaaahtModule(ctx: ModuleContext, options: BaaahtModuleOptions): BaaahtModule {
  const store = new MemoryBaaahtStore();
  const runtime = options.runtime ?? createRuntime(ctx.options.settings.get("baaaht.containerRuntime"));
  const state = new BaaahtState(store, runtime, baaahtSettings(ctx.options.settings), ctx.clock);
  const sessions = new SessionRules(state);
  const messages = new MessageRules(state, sessions);
  const containers = new ContainerRules(state, sessions);
  const agents = new AgentRegistryRules(state);
  const tasks = new TaskRules(state, agents);
  const messaging = new AgentMessagingRules(state, agents, tasks);
  const gatewaySessions = new GatewaySessionRules(state, sessions);
  const chat = new ChatRules(state, gatewaySessions, messages);
  messaging.onAgentMessage(chat.onAgentMessage);
  const status = new StatusRules(state, { containers, agents, tasks, gatewaySessions, chat });

  const health = new HealthRules();
  const ORCHESTRATOR = "orchestrator.v1.OrchestratorService";
  const serving = () => (state.shuttingDown ? ServingStatus.NOT_SERVING : ServingStatus.SERVING);
  health.derive(ORCHESTRATOR, serving);
  health.derive("agent.v1.AgentService", serving);
  health.derive("grpc.health.v1.Health", serving);
  health.derive("gateway.v1.GatewayService", () =>
    health.getServingStatus(ORCHESTRATOR) === ServingStatus.NOT_SERVING ? ServingStatus.NOT_SERVING : serving(),
  );
  const parts = [ORCHESTRATOR, "agent.v1.AgentService", "gateway.v1.GatewayService"];
  health.derive("", () =>
    parts.some((s) => health.getServingStatus(s) === ServingStatus.NOT_SERVING) ? ServingStatus.NOT_SERVING : serving(),
  );
  state.onShutdown(() => health.refresh());

  return {
    name: "baaaht",
    state,
    store,
    orchestrator: { createSession: (req) => sessions.create(req) },
    sessions,
    messages,
    containers,
    agents,
    tasks,
    gatewaySessions,
    chat,
    status,
    health,
    setServingStatus: (service, s) => health.setServingStatus(service, s),
    routes(router) {
      router.service(OrchestratorService, orchestratorService({ state, sessions, messages, containers, status }));
      router.service(AgentService, agentService({ agents, tasks, messaging, status }));
      router.service(GatewayService, gatewayService({ state, sessions: gatewaySessions, chat, status }));
      router.service(grpcHealth.Health, healthService(health));
    },
    start() {
      ctx.logger.info("baaaht module started", { containerRuntime: runtime.description });
      state.emit(EventType.SYSTEM_STARTUP, { source: "orchestrator", data: { runtime: runtime.kind } });
    },
    beginShutdown() {
      state.beginShutdown();
    },
    async close() {
      state.beginShutdown();
      health.close();
      await containers.close();
      tasks.close();
      chat.close();
      state.close();
    },
  };
}
