import { type CallOptions, callOrThrow, connectCallOptions, required, type StreamCallOptions } from "@baton/core";
import type { GatewayEvent, GatewayService, GatewaySession, GatewaySessionState } from "@baton/wire/baaaht";
import type { Client } from "@connectrpc/connect";
import { type ChatItem, ChatStream, classifyChatItem } from "./chat-stream.js";
import { deferred } from "./deferred.js";
import { type GatewayEventsInput, gatewayEvents } from "./gateway-events.js";
import { type GatewayMessageInput, toGatewayMessage } from "./gateway-message.js";
import { resumeByPosition } from "./resume.js";
import { type StreamSettings, streamCall } from "./stream-settings.js";

type GatewayClient = Client<typeof GatewayService>;

/** What closing a gateway session takes. */
export interface CloseGatewaySessionOptions {
  /** Why it is closed. */
  reason?: string;
}

/**
 * A handle on one gateway session: `gateway.create()` returns one, `gateway.getHandle(id)`
 * makes one for an id without a call.
 */
export class GatewaySessionHandle {
  /** The gateway session id. */
  readonly id: string;
  readonly #raw: GatewayClient;
  readonly #settings: StreamSettings;

  /** @internal Use `gateway.create()` or `gateway.getHandle()`. */
  constructor(raw: GatewayClient, id: string, settings: StreamSettings) {
    this.#raw = raw;
    this.id = id;
    this.#settings = settings;
  }

  /**
   * The gateway session as the server has it now.
   *
   * @throws {NotFoundError} when it does not exist.
   * @throws {ProtocolError} when the server's answer has no session.
   */
  async get(options: CallOptions = {}): Promise<GatewaySession> {
    const res = await callOrThrow(() =>
      this.#raw.getGatewaySession({ sessionId: this.id }, connectCallOptions(options)),
    );
    return required(res.session, "gateway session");
  }

  /** Closes the gateway session (replies in flight are cancelled, chats end); returns its final state. */
  async close(input: CloseGatewaySessionOptions = {}, options: CallOptions = {}): Promise<GatewaySessionState> {
    const res = await callOrThrow(() =>
      this.#raw.closeGatewaySession({ sessionId: this.id, reason: input.reason ?? "" }, connectCallOptions(options)),
    );
    return res.state;
  }

  /**
   * Sends a message without a chat stream; returns its id (follow the reply with {@link responses}).
   *
   * @throws {FailedPreconditionError} when the session is closed.
   */
  async send(message: GatewayMessageInput, options: CallOptions = {}): Promise<string> {
    const res = await callOrThrow(() =>
      this.#raw.gatewaySendMessage(
        { sessionId: this.id, message: toGatewayMessage(message) },
        connectCallOptions(options),
      ),
    );
    return res.messageId;
  }

  /** Opens a chat on the session (see {@link ChatStream}). */
  chat(options: StreamCallOptions = {}): ChatStream {
    return new ChatStream(this.#raw, this.id, this.#settings, options);
  }

  /**
   * The reply to one message: its chunks and statuses (replayed, then live), until it ends.
   * A dropped connection is reopened and what was already delivered is skipped.
   *
   * @throws {NotFoundError} for an unknown message, when iterated.
   */
  responses(messageId: string, options: StreamCallOptions = {}): AsyncIterable<ChatItem> {
    return deferred(() =>
      resumeByPosition(
        this.#settings,
        (signal) =>
          this.#items(this.#raw.streamResponses({ sessionId: this.id, messageId }, streamCall(options, signal))),
        options.signal,
      ),
    );
  }

  async *#items(
    frames: AsyncIterable<{ payload: { case: string | undefined; value?: unknown } }>,
  ): AsyncGenerator<ChatItem> {
    for await (const frame of frames) {
      const c = classifyChatItem(frame.payload);
      if (c !== undefined && c !== "heartbeat") yield c.item;
    }
  }

  /** This session's gateway events (see `gateway.events()`). */
  events(
    input: Omit<GatewayEventsInput, "sessionId"> = {},
    options: StreamCallOptions = {},
  ): AsyncIterable<GatewayEvent> {
    return gatewayEvents(this.#raw, this.#settings, { ...input, sessionId: this.id }, options);
  }
}
