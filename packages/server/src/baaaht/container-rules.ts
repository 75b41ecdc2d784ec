import {
  type Container,
  ContainerSchema,
  ContainerState,
  type CreateContainerRequest,
  EventType,
  type GetContainerRequest,
  Health,
  type ListContainersRequest,
  type RemoveContainerRequest,
  Status,
  type StopContainerRequest,
} from "@baton/wire/baaaht";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { KeyedMutex } from "../keyed-mutex.js";
import { denied, exhausted, invalid, precondition } from "./errors.js";
import { imageAllowed } from "./image-policy.js";
import { labelsMatch } from "./labels.js";
import { lookup } from "./lookup.js";
import { checkLimits } from "./resource-limits.js";
import type { ContainerExit } from "./runtime.js";
import type { SessionRules } from "./session-rules.js";
import type { BaaahtState } from "./state.js";
import { nsToMs } from "./time.js";

/** StopContainer's timeout when the request gives none. */
const DEFAULT_STOP_TIMEOUT_MS = 10_000;
/** How long a container of a closing session gets to stop. */
const SESSION_CLOSE_STOP_MS = 1000;

/**
 * Containers of `orchestrator.v1.OrchestratorService`, in sessions, with a real lifecycle
 * on the configured runtime: CREATED, RUNNING once the runtime started it, EXITED when it
 * ends by itself or is stopped (the exit code and why, in the events), removed. The
 * session's policy holds: a disallowed image is PERMISSION_DENIED; more than
 * `max_containers`, or resources beyond the session's limits, RESOURCE_EXHAUSTED. A
 * closing session's containers are stopped.
 */
export class ContainerRules {
  readonly #s: BaaahtState;
  readonly #sessions: SessionRules;
  readonly #locks = new KeyedMutex();
  /** Why a container is being stopped, so its exit event says so. */
  readonly #stopping = new Map<string, string>();

  constructor(state: BaaahtState, sessions: SessionRules) {
    this.#s = state;
    this.#sessions = sessions;
    sessions.onClosing((sessionId) => {
      const running = this.#of(sessionId).filter((c) => c.state === ContainerState.RUNNING);
      if (running.length === 0) return undefined;
      return (async () => {
        for (const c of running) await this.#stop(c, SESSION_CLOSE_STOP_MS, "session closed");
      })();
    });
  }

  /** How many containers are running. */
  get running(): number {
    return [...this.#s.store.containers.values()].filter((r) => r.container.state === ContainerState.RUNNING).length;
  }

  #of(sessionId: string): Container[] {
    return [...this.#s.store.containers.values()].map((r) => r.container).filter((c) => c.sessionId === sessionId);
  }

  /**
   * Creates a container in a session and starts it on the runtime.
   *
   * @throws {ConnectError} INVALID_ARGUMENT without a config or image, or with negative
   *   resources; FAILED_PRECONDITION on a closed session; PERMISSION_DENIED for an image the
   *   session does not allow; RESOURCE_EXHAUSTED beyond `max_containers` or the session's
   *   resource limits.
   */
  async create(req: CreateContainerRequest) {
    const config = req.config;
    if (!config) throw invalid("config is required");
    if (!config.image) throw invalid("config.image is required");
    checkLimits(config.resources, "config.resources");
    return this.#locks.run(req.sessionId || "-", async () => {
      const rec = this.#sessions.getOpen(req.sessionId);
      const scfg = rec.session.context?.config;
      if (scfg && scfg.allowedImages.length > 0 && !imageAllowed(config.image, scfg.allowedImages)) {
        throw denied(
          `image ${config.image} is not allowed in session ${req.sessionId} (allowed: ${scfg.allowedImages.join(", ")})`,
        );
      }
      const existing = this.#of(req.sessionId);
      if (scfg && scfg.maxContainers > 0 && existing.length >= scfg.maxContainers) {
        throw exhausted(
          `session ${req.sessionId} already has ${existing.length} of max_containers ${scfg.maxContainers}`,
        );
      }
      const limits = scfg?.resourceLimits;
      if (limits) {
        const active = existing.filter((c) => c.state === ContainerState.CREATED || c.state === ContainerState.RUNNING);
        for (const key of ["nanoCpus", "memoryBytes", "pidsLimit"] as const) {
          if (limits[key] <= 0n) continue;
          const used = active.reduce((sum, c) => sum + (c.config?.resources?.[key] ?? 0n), 0n);
          const want = config.resources?.[key] ?? 0n;
          if (used + want > limits[key]) {
            throw exhausted(
              `session ${req.sessionId} resource limit ${key} is ${limits[key]}: ${used} in use, ${want} requested`,
            );
          }
        }
      }
      const id = this.#s.id("ctr");
      const container = create(ContainerSchema, {
        id,
        name: config.labels.name ?? id,
        image: config.image,
        state: ContainerState.CREATED,
        status: Status.STARTING,
        health: Health.UNKNOWN,
        createdAt: timestampFromMs(this.#s.now()),
        config,
        sessionId: req.sessionId,
      });
      this.#s.store.containers.set(id, { container });
      rec.session.containerIds.push(id);
      this.#sessions.touch(rec);
      this.#emit(EventType.CONTAINER_CREATED, container, { image: config.image });
      this.#s.runtime.start(id, config, (exit) =>
        this.#markExited(container, exit, this.#stopping.get(id) ?? "exited"),
      );
      if (container.state === ContainerState.CREATED) {
        container.state = ContainerState.RUNNING;
        container.status = Status.RUNNING;
        container.health = Health.HEALTHY;
        container.startedAt = timestampFromMs(this.#s.now());
        this.#emit(EventType.CONTAINER_STARTED, container, { runtime: this.#s.runtime.kind });
      }
      return {
        /** The new container id. */
        containerId: id,
        /** The container as created (its state as the runtime reports it). */
        container,
      };
    });
  }

  /** @throws {ConnectError} INVALID_ARGUMENT without an id, NOT_FOUND for an unknown one. */
  get(req: GetContainerRequest) {
    return {
      /** The container. */
      container: this.#find(req.containerId),
    };
  }

  /** Containers matching every set field of the filter. */
  list(req: ListContainersRequest) {
    const f = req.filter;
    const containers = [...this.#s.store.containers.values()]
      .map((r) => r.container)
      .filter(
        (c) =>
          !f ||
          ((f.sessionId === "" || c.sessionId === f.sessionId) &&
            (f.state === ContainerState.UNSPECIFIED || c.state === f.state) &&
            (f.status === Status.UNSPECIFIED || c.status === f.status) &&
            labelsMatch(c.config?.labels ?? {}, f.labels)),
      );
    return {
      /** The matching containers. */
      containers,
      /** How many matched (the server does not page). */
      totalCount: containers.length,
    };
  }

  /** Stops a running container (SIGTERM, then SIGKILL after the timeout). @throws {ConnectError} NOT_FOUND, INVALID_ARGUMENT. */
  async stop(req: StopContainerRequest) {
    const c = this.#find(req.containerId);
    if (req.timeoutNs < 0n) throw invalid("timeout_ns must not be negative");
    if (c.state === ContainerState.RUNNING) {
      await this.#stop(c, req.timeoutNs > 0n ? nsToMs(req.timeoutNs) : DEFAULT_STOP_TIMEOUT_MS, "stopped by client");
    }
    return {
      /** The container stopped. */
      containerId: c.id,
      /** Its state now: EXITED once stopped; a container that was not running keeps its state. */
      state: c.state,
    };
  }

  /** Removes a container. @throws {ConnectError} FAILED_PRECONDITION for a running one without `force`. */
  async remove(req: RemoveContainerRequest) {
    const c = this.#find(req.containerId);
    if (c.state === ContainerState.RUNNING) {
      if (!req.force) throw precondition(`container ${c.id} is running: stop it first or remove with force`);
      await this.#stop(c, 0, "removed with force");
    }
    this.#remove(c);
    return {
      /** The container removed. */
      containerId: c.id,
    };
  }

  /** Stops every running container (module close). */
  async close(): Promise<void> {
    await this.#s.runtime.close();
  }

  #find(id: string): Container {
    return lookup(this.#s.store.containers, id, "container_id", "container").container;
  }

  #emit(type: EventType, c: Container, data: Record<string, string>): void {
    const session = this.#s.store.sessions.get(c.sessionId)?.session;
    this.#s.emit(type, {
      source: "container-runtime",
      sessionId: c.sessionId,
      containerId: c.id,
      data: { state: ContainerState[c.state], ...data },
      labels: c.config?.labels ?? {},
      userId: session?.metadata?.ownerId ?? "",
    });
  }

  /** Records that a running (or just created) container ended. Idempotent. */
  #markExited(c: Container, exit: ContainerExit, reason: string): void {
    if (c.state !== ContainerState.RUNNING && c.state !== ContainerState.CREATED) return;
    c.state = ContainerState.EXITED;
    c.status = exit.error ? Status.ERROR : Status.STOPPED;
    c.health = exit.error ? Health.UNHEALTHY : Health.UNKNOWN;
    c.exitCode = exit.exitCode;
    c.exitedAt = timestampFromMs(this.#s.now());
    if (exit.error) this.#emit(EventType.CONTAINER_ERROR, c, { error: exit.error });
    this.#emit(EventType.CONTAINER_STOPPED, c, {
      exit_code: String(exit.exitCode),
      reason,
      ...(exit.signal ? { signal: exit.signal } : {}),
    });
    if (c.config?.removeOnStop) this.#remove(c);
  }

  async #stop(c: Container, timeoutMs: number, reason: string): Promise<void> {
    this.#stopping.set(c.id, reason);
    try {
      const exit = await this.#s.runtime.stop(c.id, timeoutMs);
      this.#markExited(c, exit ?? { exitCode: 0, signal: undefined, error: undefined }, reason);
    } finally {
      this.#stopping.delete(c.id);
    }
  }

  #remove(c: Container): void {
    if (!this.#s.store.containers.delete(c.id)) return;
    c.state = ContainerState.REMOVING;
    const session = this.#s.store.sessions.get(c.sessionId)?.session;
    if (session) session.containerIds = session.containerIds.filter((id) => id !== c.id);
    this.#emit(EventType.CONTAINER_REMOVED, c, {});
  }
}
