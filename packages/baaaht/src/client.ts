import {
  type CallOptions,
  type Connection,
  type ConnectionOptions,
  callOrThrow,
  connectCallOptions,
  resolveConnection,
} from "@baton/core";
import {
  AgentService,
  GatewayService,
  type HealthCheckResponse,
  OrchestratorService,
  type StatusResponse,
} from "@baton/wire/baaaht";
import { Health } from "@baton/wire/baaaht/grpc-health";
import { type Client, createClient } from "@connectrpc/connect";
import { Agents } from "./agents.js";
import { Containers } from "./containers.js";
import { Events } from "./events.js";
import { Gateway } from "./gateway.js";
import { HealthApi } from "./health.js";
import { Sessions } from "./sessions.js";
import type { StreamSettings } from "./shared.js";

/** The socket the seed's orchestrator listens on by default. */
export const DEFAULT_BAAAHT_SOCKET = "/tmp/baaaht-grpc.sock";

/** The address `new BaaahtClient()` dials: `unix://$GRPC_SOCKET_PATH`, else `unix:///tmp/baaaht-grpc.sock`. */
export function defaultBaaahtAddress(env: Record<string, string | undefined> = process.env): string {
  const path = env.GRPC_SOCKET_PATH;
  return `unix://${path && path.length > 0 ? path : DEFAULT_BAAAHT_SOCKET}`;
}

/**
 * Options of {@link BaaahtClient}: the connection options (every one optional), or a shared
 * connection, plus the seed's stream settings. The seed's `ClientConfig` maps as:
 * DialTimeout → `dialTimeoutMs`, RPCTimeout → `timeoutMs`, MaxSendMsgSize →
 * `maxSendMessageBytes`, MaxRecvMsgSize → `maxReceiveMessageBytes`, ReconnectInterval →
 * `reconnectIntervalMs`, ReconnectMaxAttempts → `maxReconnectAttempts`.
 */
export type BaaahtClientOptions = (Partial<ConnectionOptions> | { connection: Connection }) & {
  /** Longest wait between stream reconnect attempts, ms. Default 5000 (the seed's 5 s). */
  reconnectIntervalMs?: number;
  /** Consecutive stream reconnect attempts before giving up; 0 = unlimited (the seed's default). */
  maxReconnectAttempts?: number;
  /** Heartbeat period of bidi streams and agents, ms. Default 10000. */
  heartbeatIntervalMs?: number;
};

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
 * The baaaht client. With no address it dials the seed's Unix socket
 * (`unix:///tmp/baaaht-grpc.sock`, or `$GRPC_SOCKET_PATH`); TCP addresses work too.
 *
 * @example
 * ```ts
 * const baaaht = new BaaahtClient();
 * const { handle } = await baaaht.sessions.create({ metadata: { name: "demo", ownerId: "u1" } });
 * await handle.send("hello");
 * for await (const ev of baaaht.events.subscribe({ sessionId: handle.id })) console.log(ev.type);
 * baaaht.close();
 * ```
 */
export class BaaahtClient {
  /** The generated clients. */
  readonly raw: BaaahtRawClients;
  /** The connection calls go through. */
  readonly connection: Connection;
  /** Sessions: create, get, list, update, close; handles with send() and stream(). */
  readonly sessions: Sessions;
  /** Containers: create, get, list, stop, remove. */
  readonly containers: Containers;
  /** Orchestrator events, resumable. */
  readonly events: Events;
  /** Agents (register, heartbeat, receive tasks) and tasks (execute, cancel, list, status, stream). */
  readonly agents: Agents;
  /** Gateway sessions, chat, replies and events. */
  readonly gateway: Gateway;
  /** `grpc.health.v1`: check and watch. */
  readonly health: HealthApi;
  readonly #owned: boolean;

  /** @throws {InvalidArgumentError} on an unusable address or option combination. */
  constructor(options: BaaahtClientOptions = {}) {
    const { reconnectIntervalMs, maxReconnectAttempts, heartbeatIntervalMs, ...conn } = options;
    const resolved = resolveConnection(
      "connection" in conn && conn.connection
        ? { connection: conn.connection }
        : {
            ...(conn as Partial<ConnectionOptions>),
            address: (conn as Partial<ConnectionOptions>).address ?? defaultBaaahtAddress(),
          },
    );
    this.connection = resolved.connection;
    this.#owned = resolved.owned;
    const t = this.connection.transport;
    this.raw = {
      orchestrator: createClient(OrchestratorService, t),
      agent: createClient(AgentService, t),
      gateway: createClient(GatewayService, t),
      health: createClient(Health, t),
    };
    const settings: StreamSettings = {
      heartbeatIntervalMs: heartbeatIntervalMs ?? 10_000,
      reconnectIntervalMs: reconnectIntervalMs ?? 5000,
      maxReconnectAttempts: maxReconnectAttempts ?? 0,
      logger: this.connection.logger,
    };
    this.sessions = new Sessions(this.raw.orchestrator, settings);
    this.containers = new Containers(this.raw.orchestrator);
    this.events = new Events(this.raw.orchestrator, settings);
    this.agents = new Agents(this.raw.agent, settings);
    this.gateway = new Gateway(this.raw.gateway, settings);
    this.health = new HealthApi(this.raw.health);
  }

  /** The orchestrator's status (active sessions and containers, start time). */
  status(options: CallOptions = {}): Promise<StatusResponse> {
    return callOrThrow(() => this.raw.orchestrator.getStatus({}, connectCallOptions(options)));
  }

  /** The orchestrator's own HealthCheck (health, version, subsystems). */
  orchestratorHealth(options: CallOptions = {}): Promise<HealthCheckResponse> {
    return callOrThrow(() => this.raw.orchestrator.healthCheck({}, connectCallOptions(options)));
  }

  /** Closes the connection if this client created it. */
  close(): void {
    if (this.#owned) this.connection.close();
  }

  /** `using baaaht = new BaaahtClient()` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }
}
