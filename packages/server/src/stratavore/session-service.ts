import {
  CreateSessionResponseSchema,
  GetSessionResponseSchema,
  GetSessionTranscriptResponseSchema,
  ListSessionsResponseSchema,
  ResumeSessionResponseSchema,
  renderTranscript,
  SessionMetadataSchema,
  type SessionService,
  TranscriptFormat,
} from "@baton/wire/stratavore";
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { Role, type RoleName } from "./auth.js";
import { invalid } from "./errors.js";
import type { StratavoreState } from "./state.js";

/** The role each SessionService rpc needs. */
export const sessionRoles: Record<keyof ServiceImpl<typeof SessionService>, RoleName> = {
  createSession: Role.write,
  getSession: Role.read,
  listSessions: Role.read,
  resumeSession: Role.write,
  getSessionTranscript: Role.read,
};

/** `stratavore.v1.SessionService` over the state. */
export function sessionService(state: StratavoreState): ServiceImpl<typeof SessionService> {
  return {
    async createSession(req) {
      return create(CreateSessionResponseSchema, {
        session: state.createSession(req.runnerId, req.metadata, req.messages),
      });
    },
    async getSession(req) {
      return create(GetSessionResponseSchema, { session: state.sessionView(req.sessionId) });
    },
    async listSessions(req) {
      const p = state.listSessions(req);
      return create(ListSessionsResponseSchema, { sessions: p.items, totalCount: p.totalCount, hasMore: p.hasMore });
    },
    async resumeSession(req) {
      return create(ResumeSessionResponseSchema, state.resumeSession(req));
    },
    async getSessionTranscript(req) {
      if (TranscriptFormat[req.format] === undefined)
        throw invalid("format", `unknown transcript format ${req.format}`);
      const format = req.format === TranscriptFormat.UNSPECIFIED ? TranscriptFormat.JSON : req.format;
      const { session, messages, runnerIds } = state.transcript(req.sessionId);
      const metadata = req.includeMetadata
        ? create(SessionMetadataSchema, {
            projectName: session.projectName,
            model: session.model,
            status: session.status,
            messageCount: messages.length,
            runnerIds,
            labels: session.metadata,
          })
        : undefined;
      if (!req.includeMetadata) for (const m of messages) m.metadata = {};
      const rendered = renderTranscript(
        { sessionId: session.id, messages, totalTokens: session.tokenCount, metadata },
        format,
      );
      return create(GetSessionTranscriptResponseSchema, {
        sessionId: session.id,
        messages,
        ...(metadata ? { metadata } : {}),
        totalTokens: session.tokenCount,
        ...(session.createdAt ? { createdAt: session.createdAt } : {}),
        ...(session.updatedAt ? { updatedAt: session.updatedAt } : {}),
        rendered,
        format,
      });
    },
  };
}
