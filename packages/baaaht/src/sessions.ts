import { type CallOptions, callOrThrow, connectCallOptions, InvalidArgumentError } from "@baton/core";
import type { Status } from "@baton/wire/baaaht";
import {
  type Event,
  type Message,
  MessageRole,
  type MessageSchema,
  type OrchestratorService,
  type SendMessageResponse,
  type Session,
  type SessionConfigSchema,
  type SessionContextSchema,
  type SessionMetadataSchema,
  SessionState,
  type StreamMessageRequest,
  type StreamMessageRequestSchema,
  type StreamMessageResponse,
} from "@baton/wire/baaaht";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { DuplexStream } from "./duplex.js";
import type { StreamSettings } from "./shared.js";

type Orchestrator = Client<typeof OrchestratorService>;

/** What `sessions.create()` takes (the wire shapes; every field optional). */
export interface CreateSessionInput {
  /** Name, description, owner, labels, tags. */
  metadata?: MessageInitShape<typeof SessionMetadataSchema>;
  /** Limits: max containers, idle timeout, max duration, resource limits, allowed images. */
  config?: MessageInitShape<typeof SessionConfigSchema>;
}

/** Filters of `sessions.list()`; unset fields match everything. */
export interface ListSessionsInput {
  /** Only sessions in this state (`"ACTIVE"`, `"CLOSED"`... or the enum value). */
  state?: SessionState | keyof typeof SessionState;
  /** Only sessions with this status. */
  status?: Status;
  /** Only sessions of this owner. */
  ownerId?: string;
  /** Only sessions carrying all these labels. */
  labels?: Record<string, string>;
}

/** What `SessionHandle.update()` takes. */
export interface UpdateSessionInput {
  /** Replaces the metadata. */
  metadata?: MessageInitShape<typeof SessionMetadataSchema>;
  /** Updates preferences, config, current task (the history is not rewritable). */
  context?: MessageInitShape<typeof SessionContextSchema>;
}

/** A message to send: just the text (a user message), or the wire shape. */
export type MessageInput = string | MessageInitShape<typeof MessageSchema>;

/** What a session stream yields: chat messages and session events. */
export type SessionStreamItem = { kind: "message"; message: Message } | { kind: "event"; event: Event };

/** Options of {@link SessionHandle.stream}. */
export interface SessionStreamOptions {
  /** Cancels the stream. */
  signal?: AbortSignal;
}

function toMessage(input: MessageInput): MessageInitShape<typeof MessageSchema> {
  return typeof input === "string" ? { role: MessageRole.USER, content: input } : input;
}

/**
 * A bidirectional chat on one session: `send()` messages and `for await` the messages
 * (from every client of the session, including this one) and the session's events.
 * Heartbeats are exchanged and hidden. `break` or `cancel()` cancels; `end()` half-closes
 * (the server ends the stream after echoing what this stream sent). The stream ends by
 * itself when the session closes.
 */
export class SessionStream implements AsyncIterable<SessionStreamItem> {
  /** The session. */
  readonly sessionId: string;
  readonly #duplex: DuplexStream<
    MessageInitShape<typeof StreamMessageRequestSchema>,
    StreamMessageResponse,
    SessionStreamItem
  >;

  /** @internal Use `SessionHandle.stream()`. */
  constructor(raw: Orchestrator, sessionId: string, settings: StreamSettings, options: SessionStreamOptions) {
    this.sessionId = sessionId;
    const heartbeat = () => ({ sessionId, payload: { case: "heartbeat" as const, value: {} } });
    this.#duplex = new DuplexStream<
      MessageInitShape<typeof StreamMessageRequestSchema>,
      StreamMessageResponse,
      SessionStreamItem
    >({
      open: (reqs, signal) => raw.streamMessages(reqs, { signal }),
      first: heartbeat(),
      heartbeat,
      heartbeatMs: settings.heartbeatIntervalMs,
      classify: (res) => {
        switch (res.payload.case) {
          case "heartbeat":
            return "heartbeat";
          case "message":
            return { item: { kind: "message", message: res.payload.value } };
          case "event":
            return { item: { kind: "event", event: res.payload.value } };
          default:
            return undefined;
        }
      },
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** Resolves once the server has subscribed this stream to the session. */
  get ready(): Promise<void> {
    return this.#duplex.ready;
  }

  /**
   * Sends a message to the session (appended to its history and delivered to every open stream).
   *
   * @throws {CanceledError} after `end()` or `cancel()`.
   */
  send(message: MessageInput): Promise<void> {
    return this.#duplex.send({ sessionId: this.sessionId, payload: { case: "message", value: toMessage(message) } });
  }

  /** Half-closes the stream. */
  end(): void {
    this.#duplex.end();
  }

  /** Cancels the stream. */
  cancel(): void {
    this.#duplex.cancel();
  }

  [Symbol.asyncIterator](): AsyncIterator<SessionStreamItem> {
    return this.#duplex[Symbol.asyncIterator]();
  }
}

/** A handle on one session. Making one costs nothing. */
export class SessionHandle {
  /** The session id. */
  readonly id: string;
  readonly #raw: Orchestrator;
  readonly #settings: StreamSettings;

  /** @internal Use `sessions.create()` or `sessions.handle()`. */
  constructor(raw: Orchestrator, id: string, settings: StreamSettings) {
    this.#raw = raw;
    this.id = id;
    this.#settings = settings;
  }

  /**
   * The session as the server has it.
   *
   * @throws {NotFoundError} when it does not exist.
   */
  async get(options: CallOptions = {}): Promise<Session> {
    const res = await callOrThrow(() => this.#raw.getSession({ sessionId: this.id }, connectCallOptions(options)));
    if (!res.session) throw new InvalidArgumentError("the server returned no session");
    return res.session;
  }

  /**
   * Updates metadata or context.
   *
   * @throws {FailedPreconditionError} when the session is closed.
   */
  async update(input: UpdateSessionInput, options: CallOptions = {}): Promise<Session> {
    const res = await callOrThrow(() =>
      this.#raw.updateSession({ sessionId: this.id, ...input }, connectCallOptions(options)),
    );
    if (!res.session) throw new InvalidArgumentError("the server returned no session");
    return res.session;
  }

  /** Closes the session (stopping its containers); returns the final state. Idempotent. */
  async close(reason = "", options: CallOptions = {}): Promise<SessionState> {
    const res = await callOrThrow(() =>
      this.#raw.closeSession({ sessionId: this.id, reason }, connectCallOptions(options)),
    );
    return res.state;
  }

  /**
   * Sends one message (unary SendMessage).
   *
   * @throws {FailedPreconditionError} when the session is closed.
   */
  send(message: MessageInput, options: CallOptions = {}): Promise<SendMessageResponse> {
    return callOrThrow(() =>
      this.#raw.sendMessage({ sessionId: this.id, message: toMessage(message) }, connectCallOptions(options)),
    );
  }

  /** Opens a bidirectional chat stream on the session (see {@link SessionStream}). */
  stream(options: SessionStreamOptions = {}): SessionStream {
    return new SessionStream(this.#raw, this.id, this.#settings, options);
  }
}

/** The `sessions` resource. */
export class Sessions {
  readonly #raw: Orchestrator;
  readonly #settings: StreamSettings;

  /** @internal */
  constructor(raw: Orchestrator, settings: StreamSettings) {
    this.#raw = raw;
    this.#settings = settings;
  }

  /**
   * Creates a session and returns its handle and the session.
   *
   * @throws {InvalidArgumentError} on negative limits.
   */
  async create(
    input: CreateSessionInput = {},
    options: CallOptions = {},
  ): Promise<{ handle: SessionHandle; session: Session }> {
    const res = await callOrThrow(() => this.#raw.createSession(input, connectCallOptions(options)));
    if (!res.session) throw new InvalidArgumentError("the server returned no session");
    return { handle: this.handle(res.sessionId), session: res.session };
  }

  /**
   * Gets a session.
   *
   * @throws {NotFoundError} when it does not exist.
   */
  get(sessionId: string, options: CallOptions = {}): Promise<Session> {
    return this.handle(sessionId).get(options);
  }

  /** Lists sessions matching the filter. */
  async list(filter: ListSessionsInput = {}, options: CallOptions = {}): Promise<Session[]> {
    const state = typeof filter.state === "string" ? SessionState[filter.state] : filter.state;
    const res = await callOrThrow(() =>
      this.#raw.listSessions(
        {
          filter: {
            ...(state !== undefined ? { state } : {}),
            ...(filter.status !== undefined ? { status: filter.status } : {}),
            ...(filter.ownerId !== undefined ? { ownerId: filter.ownerId } : {}),
            ...(filter.labels ? { labels: filter.labels } : {}),
          },
        },
        connectCallOptions(options),
      ),
    );
    return res.sessions;
  }

  /** Updates a session; see {@link SessionHandle.update}. */
  update(sessionId: string, input: UpdateSessionInput, options: CallOptions = {}): Promise<Session> {
    return this.handle(sessionId).update(input, options);
  }

  /** Closes a session; see {@link SessionHandle.close}. */
  close(sessionId: string, reason = "", options: CallOptions = {}): Promise<SessionState> {
    return this.handle(sessionId).close(reason, options);
  }

  /** A handle on an existing session; makes no call. */
  handle(sessionId: string): SessionHandle {
    return new SessionHandle(this.#raw, sessionId, this.#settings);
  }
}

/** Re-export of the request type for typing custom frames. */
export type { StreamMessageRequest };
