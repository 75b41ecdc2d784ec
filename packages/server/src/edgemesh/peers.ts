import { Connection } from "@baton/core";
import { OrchestratorService } from "@baton/wire/edgemesh";
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";

/** A gRPC client of another edgemesh device. */
export type PeerClient = Client<typeof OrchestratorService>;

/** How long one forwarded call may take, ms (a forwarded command has its own time limit below this). */
const PEER_CALL_TIMEOUT_MS = 60_000;

/**
 * Clients of the other devices of the mesh, one connection per `grpc_addr`, and the session
 * this server holds on each (made with the shared security key, re-made once when the peer
 * has forgotten it).
 */
export class Peers {
  readonly #conns = new Map<string, { conn: Connection; client: PeerClient; session?: string }>();
  readonly #securityKey: string;
  readonly #deviceName: string;

  constructor(securityKey: string, deviceName: string) {
    this.#securityKey = securityKey;
    this.#deviceName = deviceName;
  }

  /** The client for `addr`. @throws {ConnectError} UNAVAILABLE for an empty or unusable address. */
  client(addr: string): PeerClient {
    return this.#entry(addr).client;
  }

  #entry(addr: string) {
    if (addr === "") throw new ConnectError("the device has no grpc_addr to forward to", Code.Unavailable);
    let e = this.#conns.get(addr);
    if (!e) {
      let conn: Connection;
      try {
        conn = new Connection({ address: addr, retry: false, timeoutMs: PEER_CALL_TIMEOUT_MS, dialTimeoutMs: 5000 });
      } catch (err) {
        throw new ConnectError(`cannot dial device at ${JSON.stringify(addr)}: ${String(err)}`, Code.Unavailable);
      }
      e = { conn, client: createClient(OrchestratorService, conn.transport) };
      this.#conns.set(addr, e);
    }
    return e;
  }

  /**
   * Calls `fn` with a session id valid on the peer at `addr`, making the session first when
   * there is none and once more when the peer answers UNAUTHENTICATED (it restarted, or the
   * session expired).
   */
  async withSession<T>(addr: string, fn: (client: PeerClient, sessionId: string) => Promise<T>): Promise<T> {
    const e = this.#entry(addr);
    const fresh = async () => {
      const s = await e.client.createSession({ deviceName: this.#deviceName, securityKey: this.#securityKey });
      e.session = s.sessionId;
      return s.sessionId;
    };
    const first = e.session ?? (await forwarded(fresh));
    try {
      return await fn(e.client, first);
    } catch (err) {
      if (!(err instanceof ConnectError) || err.code !== Code.Unauthenticated) throw err;
      return fn(e.client, await forwarded(fresh));
    }
  }

  /** Closes every peer connection. */
  async close(): Promise<void> {
    const all = [...this.#conns.values()];
    this.#conns.clear();
    await Promise.all(all.map((e) => e.conn.close()));
  }
}

/** Runs a call to a peer; anything but a ConnectError (a dial failure) becomes UNAVAILABLE. */
export async function forwarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ConnectError) throw err;
    throw new ConnectError(`device unreachable: ${String(err)}`, Code.Unavailable);
  }
}
