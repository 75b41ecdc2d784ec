import { type CallOptions, callOrThrow, connectCallOptions, PagedList, type StreamCallOptions } from "@baton/core";
import {
  type GatewayEvent,
  type GatewayService,
  type GatewaySession,
  type GatewaySessionConfigSchema,
  type GatewaySessionMetadataSchema,
  GatewaySessionState,
} from "@baton/wire/baaaht";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { type GatewayEventsInput, gatewayEvents } from "./gateway-events.js";
import { type CloseGatewaySessionOptions, GatewaySessionHandle } from "./gateway-session-handle.js";
import { createdId, defined, type EnumInput, enumValue } from "./input.js";
import type { StreamSettings } from "./stream-settings.js";

type GatewayClient = Client<typeof GatewayService>;

/** What `gateway.create()` takes. */
export interface CreateGatewaySessionInput {
  /** Name, user, client type and version, labels. */
  metadata?: MessageInitShape<typeof GatewaySessionMetadataSchema>;
  /** Timeouts, streaming, chunking. */
  config?: MessageInitShape<typeof GatewaySessionConfigSchema>;
}

/** Filters of `gateway.list()`; unset fields match everything. */
export interface ListGatewaySessionsInput {
  /** Only sessions in this state (`"ACTIVE"`... or the enum value). */
  state?: EnumInput<typeof GatewaySessionState>;
  /** Only sessions of this user. */
  userId?: string;
  /** Only sessions carrying all these labels. */
  labels?: Record<string, string>;
}

/**
 * The `gateway` resource: `create()` returns a {@link GatewaySessionHandle} (chat, send,
 * replies, events); `get`, `list` and `close` work by id; `getHandle(id)` makes a handle
 * without a call; `events()` follows every session's gateway events.
 */
export class Gateway {
  readonly #raw: GatewayClient;
  readonly #settings: StreamSettings;

  /** @internal */
  constructor(raw: GatewayClient, settings: StreamSettings) {
    this.#raw = raw;
    this.#settings = settings;
  }

  /**
   * Creates a gateway session (it owns an orchestrator session); returns its handle.
   *
   * @throws {ProtocolError} when the server's answer has no session id.
   */
  async create(input: CreateGatewaySessionInput = {}, options: CallOptions = {}): Promise<GatewaySessionHandle> {
    const res = await callOrThrow(() => this.#raw.createGatewaySession(input, connectCallOptions(options)));
    return this.getHandle(createdId(res.sessionId, res.session, "gateway session id"));
  }

  /**
   * Gets a gateway session.
   *
   * @throws {NotFoundError} when it does not exist.
   */
  get(sessionId: string, options: CallOptions = {}): Promise<GatewaySession> {
    return this.getHandle(sessionId).get(options);
  }

  /**
   * Lists gateway sessions matching the filter (the server answers every match in one page).
   *
   * @throws {InvalidArgumentError} for an unknown state name, on the first await or iteration.
   */
  list(filter: ListGatewaySessionsInput = {}, options: CallOptions = {}): PagedList<GatewaySession> {
    return PagedList.single(async () => {
      const state = enumValue(GatewaySessionState, filter.state, "gateway session state");
      const res = await callOrThrow(() =>
        this.#raw.listGatewaySessions(
          {
            filter: defined({ state, userId: filter.userId, labels: filter.labels }),
          },
          connectCallOptions(options),
        ),
      );
      return res.sessions;
    });
  }

  /** Closes a gateway session; see {@link GatewaySessionHandle.close}. */
  close(
    sessionId: string,
    input: CloseGatewaySessionOptions = {},
    options: CallOptions = {},
  ): Promise<GatewaySessionState> {
    return this.getHandle(sessionId).close(input, options);
  }

  /**
   * Gateway events (of one session with `sessionId`, else of every session), replayed from
   * `since` and followed live, resumed without loss or duplicates after a drop. Each
   * iteration starts at the same time.
   *
   * @throws {InvalidArgumentError} for an unknown type name or an invalid time, when iterated.
   * @throws {NotFoundError} for an unknown session, when iterated.
   */
  events(input: GatewayEventsInput = {}, options: StreamCallOptions = {}): AsyncIterable<GatewayEvent> {
    return gatewayEvents(this.#raw, this.#settings, input, options);
  }

  /** A handle on a gateway session by id; makes no call (an unknown id fails on first use). */
  getHandle(sessionId: string): GatewaySessionHandle {
    return new GatewaySessionHandle(this.#raw, sessionId, this.#settings);
  }
}
