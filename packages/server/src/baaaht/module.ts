import { AgentService, EventType, GatewayService, grpcHealth, OrchestratorService } from "@baton/wire/baaaht";
import type { ModuleContext, ModuleFactory, ServiceModule } from "../module.js";
import { AgentRules } from "./agent-service.js";
import { GatewayRules } from "./gateway-service.js";
import { HealthRules } from "./health-service.js";
import { OrchestratorRules } from "./orchestrator-service.js";
import { createRuntime } from "./runtime.js";
import { type BaaahtSettings, BaaahtState, DEFAULT_BAAAHT_SETTINGS } from "./state.js";
import { type BaaahtStore, MemoryBaaahtStore } from "./store.js";

/**
 * The baaaht module: `orchestrator.v1.OrchestratorService`, `agent.v1.AgentService`,
 * `gateway.v1.GatewayService` and `grpc.health.v1.Health`, over an in-memory store.
 *
 * Settings: `baaaht.containerRuntime` (`record`, the default, records the container
 * lifecycle without executing anything; `process` runs each container's command as a
 * local child process), `baaaht.agentHeartbeatTimeoutMs`, `baaaht.streamHeartbeatMs`,
 * `baaaht.eventLogSize`, `baaaht.historySize`.
 */
export interface BaaahtModule extends ServiceModule {
  /** Shared state (store, event logs, runtime). */
  readonly state: BaaahtState;
  /** The store. */
  readonly store: BaaahtStore;
  /** Orchestrator rules. */
  readonly orchestrator: OrchestratorRules;
  /** Agent rules. */
  readonly agents: AgentRules;
  /** Gateway rules. */
  readonly gateway: GatewayRules;
  /** Health statuses. */
  readonly health: HealthRules;
  /** Sets the `grpc.health.v1` status of a service ("" = the whole server); Watch sees it. */
  setServingStatus(service: string, status: grpcHealth.HealthCheckResponse_ServingStatus): void;
}

/** Reads the module's settings. */
export function baaahtSettings(ctx: ModuleContext): BaaahtSettings {
  const num = (key: keyof BaaahtSettings): number => {
    const raw = ctx.options.settings.get(`baaaht.${key}`);
    if (raw === undefined) return DEFAULT_BAAAHT_SETTINGS[key];
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`baaaht.${key} must be a positive number, got ${raw}`);
    return n;
  };
  return {
    agentHeartbeatTimeoutMs: num("agentHeartbeatTimeoutMs"),
    streamHeartbeatMs: num("streamHeartbeatMs"),
    eventLogSize: num("eventLogSize"),
    historySize: num("historySize"),
  };
}

/** Creates the baaaht module. */
export const createBaaahtModule: ModuleFactory = (ctx): BaaahtModule => {
  const store = new MemoryBaaahtStore();
  const runtime = createRuntime(ctx.options.settings.get("baaaht.containerRuntime"));
  const state = new BaaahtState(store, runtime, baaahtSettings(ctx));
  const orchestrator = new OrchestratorRules(state);
  const agents = new AgentRules(state);
  const gateway = new GatewayRules(state, orchestrator);
  agents.onAgentMessage(gateway.onAgentMessage);
  const health = new HealthRules();
  return {
    name: "baaaht",
    state,
    store,
    orchestrator,
    agents,
    gateway,
    health,
    setServingStatus: (service, status) => health.setServingStatus(service, status),
    routes(router) {
      router.service(OrchestratorService, orchestrator.impl());
      router.service(AgentService, agents.impl());
      router.service(GatewayService, gateway.impl());
      router.service(grpcHealth.Health, health.impl());
    },
    start() {
      ctx.logger.info("baaaht module started", { containerRuntime: runtime.description });
      state.emit(EventType.SYSTEM_STARTUP, { source: "orchestrator", data: { runtime: runtime.kind } });
    },
    async close() {
      health.close();
      await orchestrator.close();
      agents.close();
      gateway.close();
      state.close();
    },
  };
};
