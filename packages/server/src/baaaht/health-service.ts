import { grpcHealth } from "@baton/wire/baaaht";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { SeqLog } from "./log.js";
import { notFound } from "./state.js";

const { HealthCheckResponse_ServingStatus: ServingStatus } = grpcHealth;
type ServingStatus = grpcHealth.HealthCheckResponse_ServingStatus;

/** The service names baton-server reports health for ("" is the server as a whole). */
export const BAAAHT_HEALTH_SERVICES = [
  "",
  "orchestrator.v1.OrchestratorService",
  "agent.v1.AgentService",
  "gateway.v1.GatewayService",
  "grpc.health.v1.Health",
] as const;

/** Short names the seed uses (`Check({service: "orchestrator"})`), mapped to full names. */
const ALIASES: Record<string, string> = {
  orchestrator: "orchestrator.v1.OrchestratorService",
  agent: "agent.v1.AgentService",
  gateway: "gateway.v1.GatewayService",
};

/**
 * `grpc.health.v1.Health`: Check answers per service name (NOT_FOUND for unknown names, as
 * the standard says); Watch sends the current status and then every change, and
 * SERVICE_UNKNOWN for a name not (yet) known.
 */
export class HealthRules {
  readonly #status = new Map<string, ServingStatus>();
  readonly #changes = new SeqLog<string>(1000);

  constructor() {
    for (const s of BAAAHT_HEALTH_SERVICES) this.#status.set(s, ServingStatus.SERVING);
  }

  /** Sets the status of a service (and notifies watchers when it changed). */
  setServingStatus(service: string, status: ServingStatus): void {
    const name = ALIASES[service] ?? service;
    if (this.#status.get(name) === status) return;
    this.#status.set(name, status);
    this.#changes.append(name);
  }

  /** The current status of a service, or undefined when unknown. */
  getServingStatus(service: string): ServingStatus | undefined {
    return this.#status.get(ALIASES[service] ?? service);
  }

  /** The connect-es implementation. */
  impl(): ServiceImpl<typeof grpcHealth.Health> {
    return {
      check: (req) => {
        const status = this.getServingStatus(req.service);
        if (status === undefined) throw notFound(`unknown service ${req.service}`);
        return { status };
      },
      watch: (req, ctx) => this.#watch(req.service, ctx),
    };
  }

  async *#watch(service: string, ctx: HandlerContext) {
    const name = ALIASES[service] ?? service;
    const cursor = this.#changes.lastSeq;
    let last = this.#status.get(name) ?? ServingStatus.SERVICE_UNKNOWN;
    yield { status: last };
    for await (const e of this.#changes.follow(cursor, ctx.signal)) {
      if (e.item !== name) continue;
      const now = this.#status.get(name) ?? ServingStatus.SERVICE_UNKNOWN;
      if (now === last) continue;
      last = now;
      yield { status: now };
    }
  }

  /** Marks everything NOT_SERVING and ends the watches. */
  close(): void {
    for (const s of this.#status.keys()) this.setServingStatus(s, ServingStatus.NOT_SERVING);
    this.#changes.close();
  }
}
