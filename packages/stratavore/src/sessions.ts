import {
  type CallOptions,
  callOrThrow,
  connectCallOptions,
  InvalidArgumentError,
  PagedList,
  required,
} from "@baton/core";
import {
  type Runner,
  renderTranscript,
  type Session,
  type SessionMetadata,
  type SessionService,
  type SessionStatus,
  TranscriptFormat,
  type TranscriptMessage,
} from "@baton/wire/stratavore";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import { int32, int64, offsetOf } from "./convert.js";
import { surfaceErrorInfo } from "./errors.js";

/** A message to start a session with. */
export interface MessageInput {
  /** Who said it. */
  role: "user" | "assistant" | "system";
  /** The text. */
  content: string;
  /** Tokens the message counts for in the session's total; int64, default 0. */
  tokens?: number | bigint;
  /** Free-form labels on the message. */
  metadata?: Record<string, string>;
  /** When it was said; sent only when set. */
  timestamp?: Date;
}

/** A session's transcript. */
export interface Transcript {
  /** The session. */
  sessionId: string;
  /** Every message, oldest first. */
  messages: TranscriptMessage[];
  /** The session's metadata (project, model, labels), where the server sent it. */
  metadata: SessionMetadata | undefined;
  /** Tokens of all messages together. */
  totalTokens: bigint;
  /** When the session was created, where the server says. */
  createdAt: Date | undefined;
  /** When the session was last updated, where the server says. */
  updatedAt: Date | undefined;
  /** The format it was asked in. */
  format: TranscriptFormat;
  /** The server's rendering in that format. */
  rendered: string;
  /** Renders the messages here, as the server does: `json`, `text` or `markdown`. */
  render(format?: "json" | "text" | "markdown"): string;
}

const FORMATS = { json: TranscriptFormat.JSON, text: TranscriptFormat.TEXT, markdown: TranscriptFormat.MARKDOWN };

/** `stratavore.v1.SessionService`, idiomatically. */
export class Sessions {
  readonly #raw: Client<typeof SessionService>;

  constructor(raw: Client<typeof SessionService>) {
    this.#raw = raw;
  }

  /** Starts a new session for an active runner. @throws {BudgetExceededError} when the messages' tokens break a quota. */
  async create(
    runnerId: string,
    input: { metadata?: Record<string, string>; messages?: MessageInput[] } = {},
    options: CallOptions = {},
  ): Promise<Session> {
    const res = await callOrThrow(
      () =>
        this.#raw.createSession(
          {
            runnerId,
            metadata: input.metadata ?? {},
            messages: (input.messages ?? []).map((m, i) => ({
              role: m.role,
              content: m.content,
              tokens: int64(`messages[${i}].tokens`, m.tokens),
              metadata: m.metadata ?? {},
              ...(m.timestamp ? { timestamp: timestampFromDate(m.timestamp) } : {}),
            })),
          },
          connectCallOptions(options),
        ),
      surfaceErrorInfo,
    );
    return required(res.session, "session");
  }

  /** A session. @throws {NotFoundError} */
  async get(id: string, options: CallOptions = {}): Promise<Session> {
    const res = await callOrThrow(
      () => this.#raw.getSession({ sessionId: id }, connectCallOptions(options)),
      surfaceErrorInfo,
    );
    return required(res.session, "session");
  }

  /** Sessions, page by page. */
  list(
    input: { projectName?: string; runnerId?: string; status?: SessionStatus; limit?: number } = {},
    options: CallOptions = {},
  ): PagedList<Session> {
    return new PagedList(async (cursor) => {
      const offset = offsetOf(cursor);
      const res = await callOrThrow(
        () =>
          this.#raw.listSessions(
            {
              projectName: input.projectName ?? "",
              runnerId: input.runnerId ?? "",
              status: input.status ?? 0,
              limit: int32("limit", input.limit),
              offset,
            },
            connectCallOptions(options),
          ),
        surfaceErrorInfo,
      );
      const next = offset + res.sessions.length;
      return { items: res.sessions, ...(res.hasMore && res.sessions.length > 0 ? { nextCursor: String(next) } : {}) };
    });
  }

  /** A new runner continues a stopped runner's session. @throws {FailedPreconditionError} while its runner is active. */
  async resume(
    id: string,
    input: { model?: string; temperature?: number; maxTokens?: number; metadata?: Record<string, string> } = {},
    options: CallOptions = {},
  ): Promise<{
    /** The session, now attached to the new runner. */
    session: Session;
    /** The new runner (status STARTING). */
    runner: Runner;
  }> {
    const res = await callOrThrow(
      () =>
        this.#raw.resumeSession(
          {
            sessionId: id,
            model: input.model ?? "",
            temperature: input.temperature ?? 0,
            maxTokens: int32("maxTokens", input.maxTokens),
            metadata: input.metadata ?? {},
          },
          connectCallOptions(options),
        ),
      surfaceErrorInfo,
    );
    return { session: required(res.session, "session"), runner: required(res.runner, "runner") };
  }

  /** A session's transcript in `format` (default json), with `render()` for the others. */
  async transcript(
    id: string,
    options: CallOptions & { format?: "json" | "text" | "markdown"; includeMetadata?: boolean } = {},
  ): Promise<Transcript> {
    const format = FORMATS[options.format ?? "json"];
    const res = await callOrThrow(async () => {
      if (format === undefined)
        throw new InvalidArgumentError(`format must be json, text or markdown, got ${options.format}`);
      return this.#raw.getSessionTranscript(
        { sessionId: id, includeMetadata: options.includeMetadata ?? false, format },
        connectCallOptions(options),
      );
    }, surfaceErrorInfo);
    const input = {
      sessionId: res.sessionId,
      messages: res.messages,
      totalTokens: res.totalTokens,
      metadata: res.metadata,
    };
    return {
      sessionId: res.sessionId,
      messages: res.messages,
      metadata: res.metadata,
      totalTokens: res.totalTokens,
      createdAt: res.createdAt ? new Date(Number(res.createdAt.seconds) * 1000 + res.createdAt.nanos / 1e6) : undefined,
      updatedAt: res.updatedAt ? new Date(Number(res.updatedAt.seconds) * 1000 + res.updatedAt.nanos / 1e6) : undefined,
      format,
      rendered: res.rendered,
      render: (f = "json") => renderTranscript(input, FORMATS[f] ?? TranscriptFormat.JSON),
    };
  }
}
