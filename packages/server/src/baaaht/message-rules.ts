import {
  EventType,
  type Message,
  MessageRole,
  MessageSchema,
  type SendMessageRequest,
  type StreamMessageRequest,
  type StreamMessageResponse,
} from "@baton/wire/baaaht";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import { serveBidi } from "./bidi.js";
import { invalid } from "./errors.js";
import type { SessionRules } from "./session-rules.js";
import type { BaaahtState } from "./state.js";
import { trimTo } from "./store.js";

const heartbeatResponse = (): StreamMessageResponse => ({
  $typeName: "orchestrator.v1.StreamMessageResponse",
  payload: { case: "heartbeat", value: { $typeName: "google.protobuf.Empty" } },
});

/**
 * A session's chat history: messages appended by SendMessage or StreamMessages (from any
 * stream) are kept (bounded by `historySize`), count as activity, and are delivered to
 * every open StreamMessages of the session together with the session's events.
 */
export class MessageRules {
  readonly #s: BaaahtState;
  readonly #sessions: SessionRules;

  constructor(state: BaaahtState, sessions: SessionRules) {
    this.#s = state;
    this.#sessions = sessions;
  }

  /**
   * Appends a message to a session's history and delivers it to every open stream.
   *
   * @throws {ConnectError} FAILED_PRECONDITION on a closed session; INVALID_ARGUMENT without a message.
   */
  append(sessionId: string, input: Message | undefined): Message {
    const rec = this.#sessions.getOpen(sessionId);
    if (!input) throw invalid("message is required");
    const msg = create(MessageSchema, {
      ...input,
      id: input.id || this.#s.id("msg"),
      timestamp: input.timestamp ?? timestampFromMs(this.#s.now()),
      role: input.role === MessageRole.UNSPECIFIED ? MessageRole.USER : input.role,
    });
    const ctx = rec.session.context;
    if (ctx) {
      ctx.messages.push(msg);
      trimTo(ctx.messages, this.#s.settings.historySize);
    }
    this.#sessions.touch(rec);
    this.#s
      .sessionFeed(sessionId)
      .append({ $typeName: "orchestrator.v1.StreamMessageResponse", payload: { case: "message", value: msg } });
    return msg;
  }

  /** SendMessage. */
  send(req: SendMessageRequest) {
    const msg = this.append(req.sessionId, req.message);
    return {
      /** The stored message's id (the one sent, else a new one). */
      messageId: msg.id,
      /** The session it was added to. */
      sessionId: req.sessionId,
      ...(msg.timestamp
        ? {
            /** When the message was stored. */
            timestamp: msg.timestamp,
          }
        : {}),
    };
  }

  /**
   * StreamMessages: the first request names the session. Every message appended to the
   * session afterwards (from any stream or SendMessage) and the session's events are
   * delivered; messages the client sends are appended. After the client half-closes, the
   * stream ends once its own messages were delivered back; it ends when the session closes.
   */
  stream(reqs: AsyncIterable<StreamMessageRequest>, hctx: HandlerContext) {
    return serveBidi<StreamMessageRequest, StreamMessageResponse>(reqs, hctx.signal, {
      heartbeatMs: this.#s.settings.streamHeartbeatMs,
      track: () => this.#s.openStream(),
      heartbeat: heartbeatResponse,
      setup: (first, ctx) => {
        const sessionId = first.sessionId;
        this.#sessions.getOpen(sessionId);
        const feed = this.#s.sessionFeed(sessionId);
        let followed = feed.lastSeq;
        let lastOwn = 0;
        const handle = (req: StreamMessageRequest) => {
          if (req.sessionId && req.sessionId !== sessionId) {
            throw invalid(`this stream belongs to session ${sessionId}, not ${req.sessionId}`);
          }
          if (req.payload.case === "message") {
            this.append(sessionId, req.payload.value);
            lastOwn = feed.lastSeq;
          } else if (req.payload.case === "heartbeat") {
            ctx.out.tryPush(heartbeatResponse());
          }
        };
        ctx.spawn(
          (async () => {
            for await (const e of feed.follow(followed, ctx.signal)) {
              followed = e.seq;
              await ctx.out.push(e.item);
              if (e.item.payload.case === "event" && e.item.payload.value.type === EventType.SESSION_CLOSED) {
                ctx.finish();
                return;
              }
              ctx.settle();
            }
          })(),
        );
        handle(first);
        // After a half-close, the stream ends once the client's own messages came back to it.
        return { onRequest: handle, drained: () => followed >= lastOwn };
      },
    });
  }
}
