import { type CallOptions, callOrThrow, connectCallOptions, InvalidArgumentError, streamOrThrow } from "@baton/core";
import {
  type GatewayEvent,
  GatewayEventType,
  GatewayMessageRole,
  type GatewayMessageSchema,
  type GatewayService,
  type GatewaySession,
  type GatewaySessionConfigSchema,
  type GatewaySessionMetadataSchema,
  GatewaySessionState,
  type ResponseChunk,
  type StreamChatRequestSchema,
  type StreamChatResponse,
  type StreamStatus,
} from "@baton/wire/baaaht";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import { DuplexStream } from "./duplex.js";
import { resumableByTime, type StreamSettings, type TimeInput, toTimestamp } from "./shared.js";

type GatewayClient = Client<typeof GatewayService>;
type ChatReq = MessageInitShape<typeof StreamChatRequestSchema>;

/** What `gateway.create()` takes. */
export interface CreateGatewaySessionInput {
  /** Name, user, client type and version, labels. */
  metadata?: MessageInitShape<typeof GatewaySessionMetadataSchema>;
  /** Timeouts, streaming, chunking. */
  config?: MessageInitShape<typeof GatewaySessionConfigSchema>;
}

/** A message to the gateway: the text (a user message), or the wire shape. */
export type GatewayMessageInput = string | MessageInitShape<typeof GatewayMessageSchema>;

/** What a chat yields: response chunks (in order, the last `isFinal`), stream statuses, events. */
export type ChatItem =
  | { kind: "chunk"; chunk: ResponseChunk }
  | { kind: "status"; status: StreamStatus }
  | { kind: "event"; event: GatewayEvent };

let messageCounter = 0;

function toGatewayMessage(input: GatewayMessageInput): MessageInitShape<typeof GatewayMessageSchema> & { id: string } {
  const base = typeof input === "string" ? { role: GatewayMessageRole.USER, content: input } : input;
  const id =
    base.id ||
    `cmsg-${Date.now().toString(36)}-${(messageCounter++).toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  return { ...base, id };
}

/**
 * A bidirectional chat over StreamChat: `send()` user messages, `for await` the reply
 * chunks in order (each reply ends with an `isFinal` chunk) and status frames; `cancelReply()`
 * cancels the replies in flight (the agent is told). `break` or `cancel()` cancels the call;
 * `end()` half-closes (the server ends the stream once the pending replies finished).
 */
export class ChatStream implements AsyncIterable<ChatItem> {
  /** The gateway session. */
  readonly sessionId: string;
  readonly #duplex: DuplexStream<ChatReq, StreamChatResponse, ChatItem>;

  /** @internal Use `gateway.chat()`. */
  constructor(raw: GatewayClient, sessionId: string, settings: StreamSettings, signal?: AbortSignal) {
    this.sessionId = sessionId;
    const heartbeat = (): ChatReq => ({ sessionId, payload: { case: "heartbeat", value: {} } });
    this.#duplex = new DuplexStream<ChatReq, StreamChatResponse, ChatItem>({
      open: (reqs, sig) => raw.streamChat(reqs, { signal: sig }),
      first: heartbeat(),
      heartbeat,
      heartbeatMs: settings.heartbeatIntervalMs,
      classify: (res) => {
        const p = res.payload;
        switch (p.case) {
          case "heartbeat":
            return "heartbeat";
          case "chunk":
            return { item: { kind: "chunk", chunk: p.value } };
          case "status":
            return { item: { kind: "status", status: p.value } };
          case "event":
            return { item: { kind: "event", event: p.value } };
          default:
            return undefined;
        }
      },
      ...(signal ? { signal } : {}),
    });
  }

  /** Resolves once the server attached the stream to the session. */
  get ready(): Promise<void> {
    return this.#duplex.ready;
  }

  /** Sends a user message; returns its id (chunks answering it carry it in `metadata.extra.message_id`). */
  async send(message: GatewayMessageInput): Promise<string> {
    const m = toGatewayMessage(message);
    await this.#duplex.send({ sessionId: this.sessionId, payload: { case: "message", value: m } });
    return m.id;
  }

  /** Cancels the replies in flight. */
  cancelReply(reason = "", force = false): Promise<void> {
    return this.#duplex.send({ sessionId: this.sessionId, payload: { case: "cancel", value: { reason, force } } });
  }

  /** Half-closes the stream. */
  end(): void {
    this.#duplex.end();
  }

  /** Cancels the call. */
  cancel(): void {
    this.#duplex.cancel();
  }

  [Symbol.asyncIterator](): AsyncIterator<ChatItem> {
    return this.#duplex[Symbol.asyncIterator]();
  }
}

/** Options of {@link Gateway.events}. */
export interface GatewayEventsInput {
  /** Only this event type. */
  type?: GatewayEventType | keyof typeof GatewayEventType;
  /** Replay from this time (inclusive). Default: now (live only). */
  since?: TimeInput;
  /** End at this time. */
  until?: TimeInput;
  /** Only events carrying all these labels. */
  labels?: Record<string, string>;
  /** Cancels the subscription. */
  signal?: AbortSignal;
}

/** The `gateway` resource: gateway sessions, chat, replies and events. */
export class Gateway {
  readonly #raw: GatewayClient;
  readonly #settings: StreamSettings;

  /** @internal */
  constructor(raw: GatewayClient, settings: StreamSettings) {
    this.#raw = raw;
    this.#settings = settings;
  }

  /** Creates a gateway session (it owns an orchestrator session). */
  async create(input: CreateGatewaySessionInput = {}, options: CallOptions = {}): Promise<GatewaySession> {
    const res = await callOrThrow(() => this.#raw.createGatewaySession(input, connectCallOptions(options)));
    if (!res.session) throw new InvalidArgumentError("the server returned no session");
    return res.session;
  }

  /**
   * Gets a gateway session.
   *
   * @throws {NotFoundError} when it does not exist.
   */
  async get(sessionId: string, options: CallOptions = {}): Promise<GatewaySession> {
    const res = await callOrThrow(() => this.#raw.getGatewaySession({ sessionId }, connectCallOptions(options)));
    if (!res.session) throw new InvalidArgumentError("the server returned no session");
    return res.session;
  }

  /** Lists gateway sessions, optionally by state, user and labels. */
  async list(
    filter: {
      state?: GatewaySessionState | keyof typeof GatewaySessionState;
      userId?: string;
      labels?: Record<string, string>;
    } = {},
    options: CallOptions = {},
  ): Promise<GatewaySession[]> {
    const state = typeof filter.state === "string" ? GatewaySessionState[filter.state] : filter.state;
    const res = await callOrThrow(() =>
      this.#raw.listGatewaySessions(
        {
          filter: {
            ...(state !== undefined ? { state } : {}),
            ...(filter.userId ? { userId: filter.userId } : {}),
            ...(filter.labels ? { labels: filter.labels } : {}),
          },
        },
        connectCallOptions(options),
      ),
    );
    return res.sessions;
  }

  /** Closes a gateway session (replies in flight are cancelled, chats end). */
  async close(sessionId: string, reason = "", options: CallOptions = {}): Promise<GatewaySessionState> {
    const res = await callOrThrow(() =>
      this.#raw.closeGatewaySession({ sessionId, reason }, connectCallOptions(options)),
    );
    return res.state;
  }

  /**
   * Sends a message without a chat stream; follow its reply with {@link Gateway.responses}.
   *
   * @throws {FailedPreconditionError} when the session is closed.
   */
  async send(sessionId: string, message: GatewayMessageInput, options: CallOptions = {}): Promise<string> {
    const res = await callOrThrow(() =>
      this.#raw.gatewaySendMessage({ sessionId, message: toGatewayMessage(message) }, connectCallOptions(options)),
    );
    return res.messageId;
  }

  /** Opens a chat on a gateway session (see {@link ChatStream}). */
  chat(sessionId: string, options: { signal?: AbortSignal } = {}): ChatStream {
    return new ChatStream(this.#raw, sessionId, this.#settings, options.signal);
  }

  /** The reply to one message: its chunks (replayed, then live) and statuses, until it ends. */
  responses(sessionId: string, messageId: string, options: { signal?: AbortSignal } = {}): AsyncIterable<ChatItem> {
    const raw = this.#raw;
    return {
      async *[Symbol.asyncIterator]() {
        const stream = raw.streamResponses({ sessionId, messageId }, options.signal ? { signal: options.signal } : {});
        for await (const res of streamOrThrow(stream)) {
          if (res.payload.case === "chunk") yield { kind: "chunk", chunk: res.payload.value };
          else if (res.payload.case === "status") yield { kind: "status", status: res.payload.value };
        }
      },
    };
  }

  /** Gateway events of a session ("" = all), resumed without loss or duplicates after a drop. */
  events(sessionId: string, input: GatewayEventsInput = {}): AsyncIterable<GatewayEvent> {
    const type = typeof input.type === "string" ? GatewayEventType[input.type] : input.type;
    const start = input.since === undefined ? timestampNow() : toTimestamp(input.since);
    return resumableByTime<GatewayEvent>(
      (from, sig) =>
        this.#raw.subscribeToEvents(
          {
            sessionId,
            filter: {
              ...(type !== undefined ? { type } : {}),
              ...(input.labels ? { labels: input.labels } : {}),
              startTime: from,
              ...(input.until !== undefined ? { endTime: toTimestamp(input.until) } : {}),
            },
          },
          { signal: sig },
        ),
      start,
      this.#settings,
      input.signal,
    );
  }
}
