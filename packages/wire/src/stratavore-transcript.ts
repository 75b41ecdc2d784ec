import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import {
  type SessionMetadata,
  TranscriptFormat,
  type TranscriptMessage,
} from "./gen/stratavore/stratavore/v1/session_pb.js";
import { SessionStatus } from "./gen/stratavore/stratavore/v1/types_pb.js";

/** What {@link renderTranscript} renders: a session's messages and, optionally, its facts. */
export interface TranscriptInput {
  /** The session's id. */
  sessionId: string;
  /** The messages, oldest first. */
  messages: readonly TranscriptMessage[];
  /** Tokens of the whole session. */
  totalTokens: bigint;
  /** Session facts: rendered, with each message's metadata, when present (include_metadata). */
  metadata?: SessionMetadata | undefined;
}

/**
 * Renders a Stratavore transcript as `GetSessionTranscript` does: the server fills the
 * response's `rendered` field with it and the client renders the same messages the same
 * way. JSON is one indented object; text is one `[YYYY-MM-DD HH:MM:SS] role: content`
 * line per message (UTC, the reference's layout); Markdown is a heading per message.
 *
 * @example
 * ```ts
 * renderTranscript({ sessionId: "s1", messages, totalTokens: 42n }, TranscriptFormat.MARKDOWN);
 * ```
 */
export function renderTranscript(input: TranscriptInput, format: TranscriptFormat): string {
  const withMeta = input.metadata !== undefined;
  switch (format) {
    case TranscriptFormat.TEXT:
      return input.messages
        .map((m) => {
          const meta = withMeta && Object.keys(m.metadata).length > 0 ? ` ${formatPairs(m.metadata)}` : "";
          return `[${textTime(m.timestamp)}] ${m.role}: ${m.content}${meta}\n`;
        })
        .join("");
    case TranscriptFormat.MARKDOWN: {
      const out = [`# Session ${input.sessionId}`, ""];
      if (input.metadata) {
        const md = input.metadata;
        out.push(
          `- Project: ${md.projectName}`,
          `- Model: ${md.model}`,
          `- Status: ${SessionStatus[md.status] ?? md.status}`,
          `- Messages: ${md.messageCount}`,
          `- Runners: ${md.runnerIds.join(", ")}`,
        );
      }
      out.push(`- Total tokens: ${input.totalTokens}`, "");
      for (const m of input.messages) {
        out.push(`## ${m.role} · ${isoTime(m.timestamp)}`, "", m.content, "");
        if (withMeta && Object.keys(m.metadata).length > 0) out.push(`_${formatPairs(m.metadata)}_`, "");
      }
      return out.join("\n");
    }
    default: {
      const json: Record<string, unknown> = {
        session_id: input.sessionId,
        total_tokens: input.totalTokens.toString(),
        messages: input.messages.map((m) => ({
          role: m.role,
          content: m.content,
          timestamp: isoTime(m.timestamp),
          tokens: m.tokens.toString(),
          ...(withMeta ? { metadata: sortedPairs(m.metadata) } : {}),
        })),
      };
      if (input.metadata) {
        const md = input.metadata;
        json.metadata = {
          project_name: md.projectName,
          model: md.model,
          status: SessionStatus[md.status] ?? md.status,
          message_count: md.messageCount,
          runner_ids: md.runnerIds,
          labels: sortedPairs(md.labels),
        };
      }
      return `${JSON.stringify(json, null, 2)}\n`;
    }
  }
}

function isoTime(ts: Timestamp | undefined): string {
  return ts ? timestampDate(ts).toISOString() : "";
}

function textTime(ts: Timestamp | undefined): string {
  return ts ? timestampDate(ts).toISOString().slice(0, 19).replace("T", " ") : "-";
}

function sortedPairs(pairs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(pairs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function formatPairs(pairs: Record<string, string>): string {
  return Object.entries(sortedPairs(pairs))
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}
