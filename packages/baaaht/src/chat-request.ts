import { type CallOptions, callOrThrow, connectCallOptions } from "@baton/core";
import { type AgentService, MessageType } from "@baton/wire/baaaht";
import type { Client } from "@connectrpc/connect";

/** What `ChatRequest.reply()` takes besides the text. */
export interface ReplyOptions {
  /** This chunk ends the reply. Default false. */
  final?: boolean;
}

/** A gateway chat message routed to this agent; answer it with `reply()`. */
export class ChatRequest {
  /** The gateway session. */
  readonly sessionId: string;
  /** The user message id. */
  readonly messageId: string;
  /** What the user wrote. */
  readonly content: string;
  /** Aborted when the user cancels the reply. */
  readonly signal: AbortSignal;
  readonly #controller = new AbortController();
  readonly #raw: Client<typeof AgentService>;
  readonly #agentId: string;

  /** @internal Made by `AgentHandle` when a chat message arrives. */
  constructor(
    raw: Client<typeof AgentService>,
    agentId: string,
    sessionId: string,
    messageId: string,
    content: string,
  ) {
    this.#raw = raw;
    this.#agentId = agentId;
    this.sessionId = sessionId;
    this.messageId = messageId;
    this.content = content;
    this.signal = this.#controller.signal;
  }

  /** @internal Called when the user cancels the reply. */
  abort(reason: string): void {
    this.#controller.abort(new Error(reason));
  }

  /** Sends one chunk of the reply; `final` ends it. Chunks reach the user in call order. */
  async reply(text: string, input: ReplyOptions = {}, options: CallOptions = {}): Promise<void> {
    await callOrThrow(() =>
      this.#raw.sendMessage(
        {
          agentId: this.#agentId,
          message: {
            type: MessageType.DATA,
            sourceId: this.#agentId,
            payload: {
              case: "dataMessage",
              value: {
                contentType: "text/plain",
                data: new TextEncoder().encode(text),
                headers: { in_reply_to: this.messageId, final: String(input.final ?? false) },
              },
            },
            metadata: { correlationId: this.messageId, sessionId: this.sessionId },
          },
        },
        connectCallOptions(options),
      ),
    );
  }
}
