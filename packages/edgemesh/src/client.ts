import {
  BatonClient,
  type CallOptions,
  type ClientDefaults,
  type ClientOptions,
  callOrThrow,
  connectCallOptions,
  createRawClient,
} from "@baton/core";
import { OrchestratorService } from "@baton/wire/edgemesh";
import type { Client } from "@connectrpc/connect";
import { ChatMemory } from "./chat-memory.js";
import { Commands } from "./commands.js";
import { Devices } from "./devices.js";
import { Files } from "./files.js";
import { Jobs } from "./jobs.js";
import { Llm } from "./llm.js";
import { Plans } from "./plans.js";
import { type ConnectInput, type Session, SessionKeeper } from "./session.js";
import { WebRtc } from "./webrtc.js";

/** The address `new EdgemeshClient()` dials when neither options nor `$GRPC_ADDR` name one (the seed's `localhost:50051`, as IPv4 loopback so it reaches a server listening on 127.0.0.1). */
export const DEFAULT_EDGEMESH_ADDRESS = "127.0.0.1:50051";
/** The environment variable that overrides {@link DEFAULT_EDGEMESH_ADDRESS} (the seed's server-side variable, honoured by the client too). */
export const EDGEMESH_ADDRESS_ENV = "GRPC_ADDR";
/** How often `connect()`'s session is kept alive with `Heartbeat`, by default, ms. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;

/** The edgemesh server reads `GRPC_ADDR` as `:50051` (a port alone): dial that on loopback. */
const EDGEMESH_DEFAULTS: ClientDefaults = {
  address: DEFAULT_EDGEMESH_ADDRESS,
  env: EDGEMESH_ADDRESS_ENV,
  fromEnv: (v) => (v.startsWith(":") ? `127.0.0.1${v}` : v),
};

/** Options of {@link EdgemeshClient}: core's client options, plus the heartbeat interval. */
export interface EdgemeshClientOptions extends ClientOptions {
  /** How often the session is kept alive, ms (0: never). Default {@link DEFAULT_HEARTBEAT_INTERVAL_MS}. */
  heartbeatIntervalMs?: number;
}

/**
 * The edgemesh client: a mesh of devices where a coordinator routes commands and jobs.
 *
 * @example
 * ```ts
 * await using mesh = new EdgemeshClient({ address: "localhost:50051" });
 * await mesh.connect({ deviceName: "my-client", securityKey: "dev-key" });
 * const r = await mesh.commands.exec("pwd", [], { policy: { mode: "prefer-remote" } });
 * console.log(r.device.name, r.stdout);
 * ```
 */
export class EdgemeshClient extends BatonClient {
  /** The generated Connect client, for anything the idiomatic layer does not cover. */
  readonly raw: Client<typeof OrchestratorService>;
  /** The device registry. */
  readonly devices: Devices;
  /** Allowlisted commands, routed or local. */
  readonly commands: Commands;
  /** Distributed jobs. */
  readonly jobs: Jobs;
  /** Plan previews and costs. */
  readonly plans: Plans;
  /** Download tickets, bulk downloads, ReadFile. */
  readonly files: Files;
  /** Local model and AI tasks. */
  readonly llm: Llm;
  /** Shared chat memory. */
  readonly chatMemory: ChatMemory;
  /** Screen-stream handshakes. */
  readonly webrtc: WebRtc;
  readonly #session: SessionKeeper;

  /**
   * @param options where the device is (default `$GRPC_ADDR`, else {@link DEFAULT_EDGEMESH_ADDRESS})
   *   and how to call it; or `{ connection }` to share one.
   * @throws {InvalidArgumentError} on an unusable address or option combination.
   */
  constructor(options: EdgemeshClientOptions = {}) {
    const { heartbeatIntervalMs, ...rest } = options;
    super(rest, EDGEMESH_DEFAULTS);
    this.raw = createRawClient(OrchestratorService, this.connection.transport);
    this.#session = new SessionKeeper(this.raw, heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS);
    this.devices = new Devices(this.raw);
    this.commands = new Commands(this.raw, this.#session);
    this.jobs = new Jobs(this.raw, this.#session);
    this.plans = new Plans(this.raw, this.#session);
    this.files = new Files(this.raw, this.#session, this.connection);
    this.llm = new Llm(this.raw, this.#session);
    this.chatMemory = new ChatMemory(this.raw);
    this.webrtc = new WebRtc(this.raw, this.#session);
  }

  /**
   * Makes the session (CreateSession) and keeps it alive with `Heartbeat` until `close()`.
   * Its id is sent for you on every call that takes one; a session the server has forgotten
   * or expired is re-made once, transparently, with the same key.
   *
   * @throws {UnauthenticatedError} for a wrong security key.
   * @throws {InvalidArgumentError} unless `deviceName` and `securityKey` are strings.
   */
  connect(input: ConnectInput, options: CallOptions = {}): Promise<Session> {
    return this.#session.connect(input, options);
  }

  /** The session `connect()` made, if any. */
  get session(): Session | undefined {
    return this.#session.current;
  }

  /** Sends one `Heartbeat` now (connect() sends them on an interval). */
  heartbeat(options: CallOptions = {}): Promise<void> {
    return this.#session.heartbeat(options);
  }

  /** The device's health (HealthCheck). */
  async health(options: CallOptions = {}): Promise<{
    /** The id of the device that answered (the server's own device). */
    deviceId: string;
    /** The server's clock when it answered (second precision). */
    serverTime: Date;
    /** A free-text summary (baton-server: live devices, sessions and jobs in progress). */
    message: string;
  }> {
    const h = await callOrThrow(() => this.raw.healthCheck({}, connectCallOptions(options)));
    return { deviceId: h.deviceId, serverTime: new Date(Number(h.serverTime) * 1000), message: h.message };
  }

  /** Stops the heartbeat, then closes the connection (unless it was given). */
  override close(): Promise<void> {
    this.#session.stop();
    return super.close();
  }
}
