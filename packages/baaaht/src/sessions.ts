import { type CallOptions, callOrThrow, connectCallOptions, PagedList } from "@baton/core";
import {
  type OrchestratorService,
  type Session,
  type SessionConfigSchema,
  type SessionMetadataSchema,
  SessionState,
  Status,
} from "@baton/wire/baaaht";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { createdId, defined, type EnumInput, enumValue } from "./input.js";
import { type CloseSessionOptions, SessionHandle, type UpdateSessionInput } from "./session-handle.js";
import type { StreamSettings } from "./stream-settings.js";

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
  state?: EnumInput<typeof SessionState>;
  /** Only sessions with this status (`"RUNNING"`... or the enum value). */
  status?: EnumInput<typeof Status>;
  /** Only sessions of this owner. */
  ownerId?: string;
  /** Only sessions carrying all these labels. */
  labels?: Record<string, string>;
}

/**
 * The `sessions` resource: `create()` returns a {@link SessionHandle}; `get`, `list`,
 * `update` and `close` work by id; `getHandle(id)` makes a handle without a call.
 */
export class Sessions {
  readonly #raw: Orchestrator;
  readonly #settings: StreamSettings;

  /** @internal */
  constructor(raw: Orchestrator, settings: StreamSettings) {
    this.#raw = raw;
    this.#settings = settings;
  }

  /**
   * Creates a session and returns its handle (`await handle.get()` for the session).
   *
   * @throws {InvalidArgumentError} on negative limits.
   * @throws {ProtocolError} when the server's answer has no session id.
   */
  async create(input: CreateSessionInput = {}, options: CallOptions = {}): Promise<SessionHandle> {
    const res = await callOrThrow(() => this.#raw.createSession(input, connectCallOptions(options)));
    return this.getHandle(createdId(res.sessionId, res.session, "session id"));
  }

  /**
   * Gets a session.
   *
   * @throws {NotFoundError} when it does not exist.
   */
  get(sessionId: string, options: CallOptions = {}): Promise<Session> {
    return this.getHandle(sessionId).get(options);
  }

  /**
   * Lists sessions matching the filter (the server answers every match in one page).
   *
   * @throws {InvalidArgumentError} for an unknown state or status name, on the first await or iteration.
   */
  list(filter: ListSessionsInput = {}, options: CallOptions = {}): PagedList<Session> {
    return PagedList.single(async () => {
      const state = enumValue(SessionState, filter.state, "session state");
      const status = enumValue(Status, filter.status, "status");
      const res = await callOrThrow(() =>
        this.#raw.listSessions(
          {
            filter: defined({ state, status, ownerId: filter.ownerId, labels: filter.labels }),
          },
          connectCallOptions(options),
        ),
      );
      return res.sessions;
    });
  }

  /** Updates a session; see {@link SessionHandle.update}. */
  update(sessionId: string, input: UpdateSessionInput, options: CallOptions = {}): Promise<Session> {
    return this.getHandle(sessionId).update(input, options);
  }

  /** Closes a session; see {@link SessionHandle.close}. */
  close(sessionId: string, input: CloseSessionOptions = {}, options: CallOptions = {}): Promise<SessionState> {
    return this.getHandle(sessionId).close(input, options);
  }

  /** A handle on a session by id; makes no call (an unknown id fails on first use). */
  getHandle(sessionId: string): SessionHandle {
    return new SessionHandle(this.#raw, sessionId, this.#settings);
  }
}
