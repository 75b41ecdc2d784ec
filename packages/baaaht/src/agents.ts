import { type CallOptions, callOrThrow, connectCallOptions } from "@baton/core";
import {
  type AgentCapabilitiesSchema,
  type AgentMetadataSchema,
  type AgentService,
  AgentType,
} from "@baton/wire/baaaht";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { AgentHandle } from "./agent-handle.js";
import { createdId, defined, type EnumInput, enumValue, positiveMs } from "./input.js";
import type { StreamSettings } from "./stream-settings.js";

type AgentClient = Client<typeof AgentService>;

/** What `agents.register()` takes. */
export interface RegisterAgentInput {
  /** Unique name among registered agents. */
  name: string;
  /** Kind of agent (`"WORKER"`... or the enum value). Default WORKER. */
  type?: EnumInput<typeof AgentType>;
  /** Version, hostname, labels... */
  metadata?: MessageInitShape<typeof AgentMetadataSchema>;
  /** Supported task types (`code-execution`, `chat`...), concurrency, streaming. */
  capabilities?: MessageInitShape<typeof AgentCapabilitiesSchema>;
  /** Heartbeat period of the handle in ms (> 0). Default: the client's `heartbeatIntervalMs`. */
  heartbeatIntervalMs?: number;
}

/** Options of `agents.getHandle()`. */
export interface AgentHandleOptions {
  /** Heartbeat period in ms (> 0). Default: the client's `heartbeatIntervalMs`. */
  heartbeatIntervalMs?: number;
}

/**
 * The `agents` resource, for agents themselves: `register()` returns an attached
 * {@link AgentHandle}; `getHandle(id)` makes one for an agent registered earlier, without a
 * call. (Callers run tasks through `tasks`.)
 */
export class Agents {
  readonly #raw: AgentClient;
  readonly #settings: StreamSettings;

  /** @internal */
  constructor(raw: AgentClient, settings: StreamSettings) {
    this.#raw = raw;
    this.#settings = settings;
  }

  /**
   * Registers an agent and returns its handle, attached (heartbeating and receiving) until
   * `unregister()`.
   *
   * @throws {AlreadyExistsError} when an agent with that name is registered.
   * @throws {InvalidArgumentError} without a name, or for an unknown type or a bad heartbeat interval.
   * @throws {ProtocolError} when the server's answer has no agent id.
   */
  async register(input: RegisterAgentInput, options: CallOptions = {}): Promise<AgentHandle> {
    const heartbeatMs = positiveMs(
      input.heartbeatIntervalMs ?? this.#settings.heartbeatIntervalMs,
      "heartbeatIntervalMs",
    );
    const type = enumValue(AgentType, input.type, "agent type") ?? AgentType.WORKER;
    const res = await callOrThrow(() =>
      this.#raw.register(
        { name: input.name, type, ...defined({ metadata: input.metadata, capabilities: input.capabilities }) },
        connectCallOptions(options),
      ),
    );
    const id = createdId(res.agentId, res.agent, "agent id");
    const handle = new AgentHandle(this.#raw, id, this.#settings, heartbeatMs);
    await handle.ready;
    return handle;
  }

  /**
   * A handle on an agent registered earlier, by id; makes no call. It attaches (heartbeats
   * and receives) when iterated or when `ready` is awaited; a bad heartbeat interval fails
   * those.
   */
  getHandle(agentId: string, options: AgentHandleOptions = {}): AgentHandle {
    return new AgentHandle(
      this.#raw,
      agentId,
      this.#settings,
      options.heartbeatIntervalMs ?? this.#settings.heartbeatIntervalMs,
    );
  }
}
