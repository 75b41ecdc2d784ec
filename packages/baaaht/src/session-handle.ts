import { type CallOptions, callOrThrow, connectCallOptions, required, type StreamCallOptions } from "@baton/core";
import type {
  OrchestratorService,
  SendMessageResponse,
  Session,
  SessionContextSchema,
  SessionMetadataSchema,
  SessionState,
} from "@baton/wire/baaaht";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { type MessageInput, SessionStream, toMessage } from "./session-stream.js";
import type { StreamSettings } from "./stream-settings.js";

type Orchestrator = Client<typeof OrchestratorService>;

/** What `update()` of a session takes. */
export interface UpdateSessionInput {
  /** Replaces the metadata. */
  metadata?: MessageInitShape<typeof SessionMetadataSchema>;
  /** Updates preferences, config, current task (the history is not rewritable). */
  context?: MessageInitShape<typeof SessionContextSchema>;
}

/** What closing a session takes. */
export interface CloseSessionOptions {
  /** Why it is closed (recorded in the SESSION_CLOSED event). */
  reason?: string;
}

/**
 * A handle on one session: `sessions.create()` returns one, `sessions.getHandle(id)` makes
 * one for an id without a call.
 *
 * @example
 * ```ts
 * const session = baaaht.sessions.getHandle(sessionId);
 * const stream = session.stream();
 * await stream.ready;
 * await stream.send("hello");
 * for await (const item of stream) {
 *   if (item.kind === "message") console.log(item.message.content);
 * }
 * ```
 */
export class SessionHandle {
  /** The session id. */
  readonly id: string;
  readonly #raw: Orchestrator;
  readonly #settings: StreamSettings;

  /** @internal Use `sessions.create()` or `sessions.getHandle()`. */
  constructor(raw: Orchestrator, id: string, settings: StreamSettings) {
    this.#raw = raw;
    this.id = id;
    this.#settings = settings;
  }

  /**
   * The session as the server has it now.
   *
   * @throws {NotFoundError} when it does not exist.
   * @throws {ProtocolError} when the server's answer has no session.
   */
  async get(options: CallOptions = {}): Promise<Session> {
    const res = await callOrThrow(() => this.#raw.getSession({ sessionId: this.id }, connectCallOptions(options)));
    return required(res.session, "session");
  }

  /**
   * Updates metadata or context; returns the session as updated.
   *
   * @throws {FailedPreconditionError} when the session is closed.
   * @throws {ProtocolError} when the server's answer has no session.
   */
  async update(input: UpdateSessionInput, options: CallOptions = {}): Promise<Session> {
    const res = await callOrThrow(() =>
      this.#raw.updateSession({ sessionId: this.id, ...input }, connectCallOptions(options)),
    );
    return required(res.session, "session");
  }

  /** Closes the session (stopping its containers); returns the final state. Idempotent. */
  async close(input: CloseSessionOptions = {}, options: CallOptions = {}): Promise<SessionState> {
    const res = await callOrThrow(() =>
      this.#raw.closeSession({ sessionId: this.id, reason: input.reason ?? "" }, connectCallOptions(options)),
    );
    return res.state;
  }

  /**
   * Sends one message (unary SendMessage).
   *
   * @throws {FailedPreconditionError} when the session is closed.
   */
  async send(message: MessageInput, options: CallOptions = {}): Promise<SendMessageResponse> {
    return callOrThrow(() =>
      this.#raw.sendMessage({ sessionId: this.id, message: toMessage(message) }, connectCallOptions(options)),
    );
  }

  /**
   * Opens a bidirectional chat stream on the session (see {@link SessionStream}); a
   * refused stream (an unknown session) rejects `ready` and the iteration.
   */
  stream(options: StreamCallOptions = {}): SessionStream {
    return new SessionStream(this.#raw, this.id, this.#settings, options);
  }
}
