import {
  type CallOptions,
  callOrThrow,
  connectCallOptions,
  FailedPreconditionError,
  InvalidArgumentError,
  UnauthenticatedError,
} from "@baton/core";
import type { OrchestratorService } from "@baton/wire/edgemesh";
import type { Client } from "@connectrpc/connect";

/** What `connect()` takes: the session's credentials. */
export interface ConnectInput {
  /** This client's device name, as the server records it. */
  deviceName: string;
  /** The server's security key. */
  securityKey: string;
}

/** An open session. */
export interface Session {
  /** The session id, sent for you on every call that takes one. */
  readonly id: string;
  /** The server's host name. */
  readonly hostName: string;
  /** When the session was made. */
  readonly connectedAt: Date;
}

/**
 * Holds the client's session: makes it, keeps it alive with `Heartbeat` every
 * `heartbeatIntervalMs`, hands its id to calls, and re-makes it once, transparently, when
 * the server says it is unknown or expired (and the key is still good).
 */
export class SessionKeeper {
  readonly #raw: Client<typeof OrchestratorService>;
  readonly #intervalMs: number;
  #input: ConnectInput | undefined;
  #session: Session | undefined;
  #making: Promise<Session> | undefined;
  #timer: NodeJS.Timeout | undefined;

  /** @internal */
  constructor(raw: Client<typeof OrchestratorService>, heartbeatIntervalMs: number) {
    this.#raw = raw;
    this.#intervalMs = heartbeatIntervalMs;
  }

  /** The open session, if any. */
  get current(): Session | undefined {
    return this.#session;
  }

  /** Makes the session and starts the heartbeat. @throws {InvalidArgumentError} unless both are strings. */
  async connect(input: ConnectInput, options: CallOptions = {}): Promise<Session> {
    if (typeof input?.deviceName !== "string" || typeof input.securityKey !== "string")
      throw new InvalidArgumentError("connect() needs { deviceName, securityKey } strings");
    this.#input = { deviceName: input.deviceName, securityKey: input.securityKey };
    const s = await this.#make(options);
    this.#startHeartbeat();
    return s;
  }

  #make(options: CallOptions = {}): Promise<Session> {
    const input = this.#input;
    if (!input)
      return Promise.reject(
        new FailedPreconditionError("no session: call client.connect({ deviceName, securityKey }) first"),
      );
    this.#making ??= callOrThrow(() => this.#raw.createSession(input, connectCallOptions(options)))
      .then((info) => {
        this.#session = {
          id: info.sessionId,
          hostName: info.hostName,
          connectedAt: new Date(Number(info.connectedAt) * 1000),
        };
        return this.#session;
      })
      .finally(() => {
        this.#making = undefined;
      });
    return this.#making;
  }

  #startHeartbeat(): void {
    if (this.#timer || this.#intervalMs <= 0) return;
    this.#timer = setInterval(() => {
      void this.heartbeat().catch(() => undefined); // the next call re-makes a lost session
    }, this.#intervalMs);
    this.#timer.unref();
  }

  /** Sends one `Heartbeat` now (re-making the session once if the server lost it). */
  heartbeat(options: CallOptions = {}): Promise<void> {
    return this.withSession(async (sessionId) => {
      await callOrThrow(() => this.#raw.heartbeat({ sessionId }, connectCallOptions(options)));
    });
  }

  /**
   * Runs `fn` with the session id; when the server answers UNAUTHENTICATED for the session
   * (unknown or expired), makes a new session with the same key and runs `fn` once more.
   *
   * @throws {FailedPreconditionError} before `connect()`.
   * @throws {UnauthenticatedError} when the key no longer works.
   */
  async withSession<T>(fn: (sessionId: string) => Promise<T>): Promise<T> {
    const s = this.#session ?? (await this.#make());
    try {
      return await fn(s.id);
    } catch (err) {
      if (!(err instanceof UnauthenticatedError) || !/session/i.test(err.message)) throw err;
      if (this.#session?.id === s.id) this.#session = undefined;
      const again = this.#session ?? (await this.#make());
      return fn(again.id);
    }
  }

  /** Stops the heartbeat and forgets the session. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#session = undefined;
  }
}
