import { grpcHealth } from "@baton/wire/baaaht";
import { SeqLog } from "./log.js";

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

/** Derives a service's serving status from the module's state. */
export type HealthProbe = () => ServingStatus;

const canonical = (service: string): string => ALIASES[service] ?? service;

/**
 * The serving status of every service, as `grpc.health.v1` reports it. A service's status
 * is derived from state by its probe (NOT_SERVING while the server shuts down, or while a
 * service it depends on is not serving); an operator (or a test) may also set one with
 * {@link setServingStatus}: a NOT_SERVING from either side wins, so a set SERVING never
 * hides a shutdown. Services known only by a set status have no probe. Watchers are told
 * of every change {@link refresh} finds.
 */
export class HealthRules {
  readonly #probes = new Map<string, HealthProbe>();
  readonly #set = new Map<string, ServingStatus>();
  readonly #published = new Map<string, ServingStatus>();
  readonly #changes = new SeqLog<string>(1000);
  #closed = false;

  /** Derives `service`'s status with `probe` from now on. */
  derive(service: string, probe: HealthProbe): void {
    this.#probes.set(canonical(service), probe);
    this.refresh();
  }

  /** Sets the status of a service (and tells watchers when its status changed). */
  setServingStatus(service: string, status: ServingStatus): void {
    this.#set.set(canonical(service), status);
    this.refresh();
  }

  /** The current status of a service, or undefined when it is not known. */
  getServingStatus(service: string): ServingStatus | undefined {
    const name = canonical(service);
    const probe = this.#probes.get(name);
    const set = this.#set.get(name);
    if (!probe && set === undefined) return undefined;
    if (this.#closed) return ServingStatus.NOT_SERVING;
    const derived = probe?.();
    if (derived === ServingStatus.NOT_SERVING) return derived;
    return set ?? derived;
  }

  /** Recomputes every status and tells watchers about the ones that changed. Call it when a probe's inputs change. */
  refresh(): void {
    for (const name of new Set([...this.#probes.keys(), ...this.#set.keys()])) {
      const now = this.getServingStatus(name);
      if (now === undefined || this.#published.get(name) === now) continue;
      this.#published.set(name, now);
      this.#changes.append(name);
    }
  }

  /** The current status of `service` (SERVICE_UNKNOWN when unknown), then each change, until `signal` aborts or close. */
  async *watch(service: string, signal: AbortSignal): AsyncGenerator<ServingStatus> {
    const name = canonical(service);
    const cursor = this.#changes.lastSeq;
    let last = this.getServingStatus(name) ?? ServingStatus.SERVICE_UNKNOWN;
    yield last;
    for await (const e of this.#changes.follow(cursor, signal)) {
      if (e.item !== name) continue;
      const now = this.getServingStatus(name) ?? ServingStatus.SERVICE_UNKNOWN;
      if (now === last) continue;
      last = now;
      yield now;
    }
  }

  /** Reports every service NOT_SERVING, tells the watchers, and ends the watches. */
  close(): void {
    this.#closed = true;
    this.refresh();
    this.#changes.close();
  }
}
