import {
  BatonClient,
  type CallOptions,
  type ClientDefaults,
  type ClientOptions,
  callOrThrow,
  connectCallOptions,
  createRawClient,
} from "@baton/core";
import {
  AgentService,
  GatewayService,
  type HealthCheckResponse,
  OrchestratorService,
  type StatusResponse,
} from "@baton/wire/baaaht";
import { Health } from "@baton/wire/baaaht/grpc-health";
import type { Client } from "@connectrpc/connect";
import { Agents } from "./agents.js";
import { Containers } from "./containers.js";
import { Events } from "./events.js";
import { Gateway } from "./gateway.js";
import { HealthApi } from "./health.js";
import { Sessions } from "./sessions.js";
import { streamSettings } from "./stream-settings.js";
import { Tasks } from "./tasks.js";

/** The socket the seed's orchestrator listens on by default. */
export const DEFAULT_BAAAHT_SOCKET = "/tmp/baaaht-grpc.sock";
/** The address `new BaaahtClient()` dials when neither options nor `$GRPC_SOCKET_PATH` name one. */
export const DEFAULT_BAAAHT_ADDRESS = `unix://${DEFAULT_BAAAHT_SOCKET}`;
/** The environment variable holding the orchestrator's socket path (as the seed's server reads it). */
export const BAAAHT_SOCKET_ENV = "GRPC_SOCKET_PATH";

/**
 * The address of a socket path from `$GRPC_SOCKET_PATH`: `unix://` + the path (`%` escaped,
 * as addresses are URL-decoded); a value that already is a `unix:` address is kept.
 */
export function socketAddress(path: string): string {
  return path.startsWith("unix:") ? path : `unix://${path.replaceAll("%", "%25")}`;
}

/** Where {@link BaaahtClient} finds its server: options, then `$GRPC_SOCKET_PATH`, then the seed's socket. */
export const BAAAHT_DEFAULTS: ClientDefaults = Object.freeze({
  address: DEFAULT_BAAAHT_ADDRESS,
  env: BAAAHT_SOCKET_ENV,
  fromEnv: socketAddress,
});

/**
 * Options of {@link BaaahtClient}: core's client options (every one optional, or a shared
 * `connection`), plus the seed's stream settings. The seed's `ClientConfig` maps as:
 * DialTimeout → `dialTimeoutMs`, RPCTimeout → `timeoutMs` (unary calls only; streams take
 * `idleTimeoutMs`), MaxSendMsgSize → `maxSendMessageBytes`, MaxRecvMsgSize →
 * `maxReceiveMessageBytes`, ReconnectInterval → `reconnectIntervalMs`, ReconnectMaxAttempts
 * → `maxReconnectAttempts`.
 */
export interface BaaahtClientOptions extends ClientOptions {
  /**
   * Longest wait between stream reconnect attempts, ms (the seed's ReconnectInterval).
   * Default: the connection's retry backoff (`retry.maxBackoffMs`, 5 s by default).
   */
  reconnectIntervalMs?: number;
  /**
   * Consecutive stream reconnect attempts before a stream fails; 0: unlimited (the seed's
   * ReconnectMaxAttempts). Default: core's (10), so a server that is gone for good fails
   * the stream instead of hanging it.
   */
  maxReconnectAttempts?: number;
  /** Heartbeat period of bidi streams and agents, ms (> 0). Default 10000. */
  heartbeatIntervalMs?: number;
}

/** The generated Connect clients, for anything the idiomatic layer does not cover. */
export interface BaaahtRawClients {
  /** `orchestrator.v1.OrchestratorService`. */
  orchestrator: Client<typeof OrchestratorService>;
  /** `agent.v1.AgentService`. */
  agent: Client<typeof AgentService>;
  /** `gateway.v1.GatewayService`. */
  gateway: Client<typeof GatewayService>;
  /** `grpc.health.v1.Health`. */
  health: Client<typeof Health>;
}

/**
 * The baaaht client. With no address it dials `unix://$GRPC_SOCKET_PATH`, else the seed's
 * socket `unix:///tmp/baaaht-grpc.sock`; TCP addresses work too. Long-lived things are
 * handles: creators (`sessions.create()`, `containers.create()`, `gateway.create()`,
 * `tasks.execute()`, `agents.register()`) return one, and every resource's `getHandle(id)`
 * makes one without a call; `handle.get()` fetches the entity. Lists are core
 * `PagedList`s. Reads are retried on UNAVAILABLE; streams resume after a dropped connection.
 *
 * @example
 * ```ts
 * await using baaaht = new BaaahtClient();
 * const session = await baaaht.sessions.create({ metadata: { name: "demo", ownerId: "u1" } });
 * await session.send("hello");
 * for await (const ev of baaaht.events.subscribe({ sessionId: session.id })) console.log(ev.type);
 * ```
 */
export class BaaahtClient extends BatonClient {
  /** The generated clients. */
  readonly raw: BaaahtRawClients;
  /** Sessions: create, get, list, update, close; handles with send() and stream(). */
  readonly sessions: Sessions;
  /** Containers: create (in a session), get, list, stop, remove. */
  readonly containers: Containers;
  /** Orchestrator events, resumable. */
  readonly events: Events;
  /** Agents: register, and handles that heartbeat and receive tasks and chat messages. */
  readonly agents: Agents;
  /** Tasks, for callers: execute, get, list, cancel; handles with stream(). */
  readonly tasks: Tasks;
  /** Gateway sessions: create, get, list, close, events; handles with chat(), send(), responses(). */
  readonly gateway: Gateway;
  /** `grpc.health.v1`: check and watch. */
  readonly health: HealthApi;

  /** @throws {InvalidArgumentError} on an unusable address, option combination or stream setting. */
  constructor(options: BaaahtClientOptions = {}) {
    const { reconnectIntervalMs, maxReconnectAttempts, heartbeatIntervalMs, ...clientOptions } = options;
    super(clientOptions, BAAAHT_DEFAULTS);
    const settings = streamSettings(this.connection, {
      reconnectIntervalMs,
      maxReconnectAttempts,
      heartbeatIntervalMs,
    });
    const t = this.connection.transport;
    this.raw = {
      orchestrator: createRawClient(OrchestratorService, t),
      agent: createRawClient(AgentService, t),
      gateway: createRawClient(GatewayService, t),
      health: createRawClient(Health, t),
    };
    this.sessions = new Sessions(this.raw.orchestrator, settings);
    this.containers = new Containers(this.raw.orchestrator);
    this.events = new Events(this.raw.orchestrator, settings);
    this.agents = new Agents(this.raw.agent, settings);
    this.tasks = new Tasks(this.raw.agent, settings);
    this.gateway = new Gateway(this.raw.gateway, settings);
    this.health = new HealthApi(this.raw.health, settings);
  }

  /** The orchestrator's status (active sessions and containers, start time). */
  async status(options: CallOptions = {}): Promise<StatusResponse> {
    return callOrThrow(() => this.raw.orchestrator.getStatus({}, connectCallOptions(options)));
  }

  /** The orchestrator's own HealthCheck (health, version, subsystems). */
  async orchestratorHealth(options: CallOptions = {}): Promise<HealthCheckResponse> {
    return callOrThrow(() => this.raw.orchestrator.healthCheck({}, connectCallOptions(options)));
  }
}
