import {
  type CallOptions,
  CanceledError,
  callOrThrow,
  connectCallOptions,
  FailedPreconditionError,
  InvalidArgumentError,
  UnauthenticatedError,
  unrefTimer,
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
  #timer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

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
    if (this.#stopped) throw new CanceledError("the client is closed");
    this.#input = { deviceName: input.deviceName, securityKey: input.securityKey };
    let s: Session | undefined;
    let failure: unknown;
    try {
      s = await this.#make(options);
    } catch (err) {
      failure = err;
    }
    // close() while CreateSession was in flight (it may even have succeeded): no session and
    // no heartbeat timer may outlive the client.
    if (this.#stopped) {
      this.#session = undefined;
      throw new CanceledError("the client was closed while connecting", { cause: failure });
    }
    if (s === undefined) throw failure;
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
    if (this.#timer || this.#intervalMs <= 0 || this.#stopped) return;
    this.#timer = setInterval(() => {
      void this.heartbeat().catch(() => undefined); // the next call re-makes a lost session
    }, this.#intervalMs);
    unrefTimer(this.#timer);
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
      if (!isSessionRefusal(err)) throw err;
      if (this.#session?.id === s.id) this.#session = undefined;
      const again = this.#session ?? (await this.#make());
      return fn(again.id);
    }
  }

  /** Stops the heartbeat and forgets the session, for good: `connect()` fails afterwards. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#session = undefined;
  }
}

/** ErrorInfo reasons baton-server gives a refused session. */
const SESSION_REASONS = new Set(["SESSION_UNKNOWN", "SESSION_EXPIRED"]);

/**
 * Whether an error says the session (not the key) was refused: baton-server names it in an
 * ErrorInfo reason; the real edgemesh sends no details, so without one the message decides.
 */
function isSessionRefusal(err: unknown): boolean {
  if (!(err instanceof UnauthenticatedError)) return false;
  const reason = err.errorInfo?.reason;
  if (reason !== undefined) return SESSION_REASONS.has(reason);
  return /session/i.test(err.message);
}
