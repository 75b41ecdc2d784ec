import type { StreamCallOptions } from "@baton/core";
import {
  type Event,
  type Message,
  MessageRole,
  type MessageSchema,
  type OrchestratorService,
  type StreamMessageRequestSchema,
  type StreamMessageResponse,
} from "@baton/wire/baaaht";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { BidiStream } from "./bidi-stream.js";
import { oneofItems } from "./oneof.js";
import { type StreamSettings, streamCall } from "./stream-settings.js";

type Orchestrator = Client<typeof OrchestratorService>;
type Req = MessageInitShape<typeof StreamMessageRequestSchema>;

/** A message to send: just the text (a user message), or the wire shape. */
export type MessageInput = string | MessageInitShape<typeof MessageSchema>;

/** What a session stream yields: chat messages and session events. */
export type SessionStreamItem =
  | {
      /** Switch on this: a chat message of the session. */
      kind: "message";
      /** The message (role, content, timestamp). */
      message: Message;
    }
  | {
      /** Switch on this: a session event (state change, container event, ...). */
      kind: "event";
      /** The event. */
      event: Event;
    };

/** The wire message for a {@link MessageInput}. */
export function toMessage(input: MessageInput): MessageInitShape<typeof MessageSchema> {
  return typeof input === "string" ? { role: MessageRole.USER, content: input } : input;
}

const classify = oneofItems<SessionStreamItem>(["message", "event"]);

/**
 * A bidirectional chat on one session (StreamMessages): `send()` messages and `for await`
 * the messages (from every client of the session, including this one) and the session's
 * events. Heartbeats are exchanged and hidden. `break` or `cancel()` cancels; `end()`
 * half-closes (the server ends the stream after echoing what this stream sent). The stream
 * ends by itself when the session closes. It is live only: messages sent while it was not
 * connected are in the session's history (`handle.get()`), not replayed here.
 */
export class SessionStream extends BidiStream<Req, StreamMessageResponse, SessionStreamItem> {
  /** The session. */
  readonly sessionId: string;

  /** @internal Use `SessionHandle.stream()`. */
  constructor(raw: Orchestrator, sessionId: string, settings: StreamSettings, options: StreamCallOptions) {
    super({
      open: (reqs, signal) => raw.streamMessages(reqs, streamCall(options, signal)),
      heartbeat: () => ({ sessionId, payload: { case: "heartbeat", value: {} } }),
      heartbeatMs: settings.heartbeatIntervalMs,
      classify: (res) => classify(res.payload),
      signal: options.signal,
    });
    this.sessionId = sessionId;
  }

  /**
   * Sends a message to the session (appended to its history and delivered to every open stream).
   *
   * @throws {CanceledError} after `end()` or `cancel()`.
   */
  send(message: MessageInput): Promise<void> {
    return this.duplex.send({ sessionId: this.sessionId, payload: { case: "message", value: toMessage(message) } });
  }
}
