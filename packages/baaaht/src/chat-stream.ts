import type { StreamCallOptions } from "@baton/core";
import type {
  GatewayEvent,
  GatewayService,
  ResponseChunk,
  StreamChatRequestSchema,
  StreamChatResponse,
  StreamStatus,
} from "@baton/wire/baaaht";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { BidiStream } from "./bidi-stream.js";
import { type GatewayMessageInput, toGatewayMessage } from "./gateway-message.js";
import { oneofItems } from "./oneof.js";
import { type StreamSettings, streamCall } from "./stream-settings.js";

type ChatReq = MessageInitShape<typeof StreamChatRequestSchema>;

/** What a chat yields: response chunks (in order, the last `isFinal`), stream statuses, events. */
export type ChatItem =
  | {
      /** Switch on this: a piece of the reply. */
      kind: "chunk";
      /** The chunk; `isFinal` marks the last one of a reply. */
      chunk: ResponseChunk;
    }
  | {
      /** Switch on this: a change of the stream's state. */
      kind: "status";
      /** The stream status the gateway sent. */
      status: StreamStatus;
    }
  | {
      /** Switch on this: a gateway event of the session. */
      kind: "event";
      /** The event. */
      event: GatewayEvent;
    };

/** What cancelling a reply takes. */
export interface CancelReplyOptions {
  /** Why (the agent is told). */
  reason?: string;
  /** Cancel even when the agent does not acknowledge. Default false. */
  force?: boolean;
}

/** The StreamChat and StreamResponses frames as {@link ChatItem}s. */
export const classifyChatItem = oneofItems<ChatItem>(["chunk", "status", "event"]);

/**
 * A bidirectional chat over StreamChat: `send()` user messages, `for await` the reply
 * chunks in order (each reply ends with an `isFinal` chunk) and status frames; `cancelReply()`
 * cancels the replies in flight (the agent is told). `break` or `cancel()` cancels the call;
 * `end()` half-closes (the server ends the stream once the pending replies finished). It is
 * live only: a reply can be replayed with `GatewaySessionHandle.responses()`.
 */
export class ChatStream extends BidiStream<ChatReq, StreamChatResponse, ChatItem> {
  /** The gateway session. */
  readonly sessionId: string;

  /** @internal Use `GatewaySessionHandle.chat()`. */
  constructor(
    raw: Client<typeof GatewayService>,
    sessionId: string,
    settings: StreamSettings,
    options: StreamCallOptions,
  ) {
    super({
      open: (reqs, signal) => raw.streamChat(reqs, streamCall(options, signal)),
      heartbeat: () => ({ sessionId, payload: { case: "heartbeat", value: {} } }),
      heartbeatMs: settings.heartbeatIntervalMs,
      classify: (res) => classifyChatItem(res.payload),
      signal: options.signal,
    });
    this.sessionId = sessionId;
  }

  /**
   * Sends a user message; returns its id (chunks answering it carry it in `metadata.extra.message_id`).
   *
   * @throws {CanceledError} after `end()` or `cancel()`.
   */
  async send(message: GatewayMessageInput): Promise<string> {
    const m = toGatewayMessage(message);
    await this.duplex.send({ sessionId: this.sessionId, payload: { case: "message", value: m } });
    return m.id;
  }

  /** Cancels the replies in flight. */
  async cancelReply(input: CancelReplyOptions = {}): Promise<void> {
    await this.duplex.send({
      sessionId: this.sessionId,
      payload: { case: "cancel", value: { reason: input.reason ?? "", force: input.force ?? false } },
    });
  }
}
