import { BatonClientBase, type ClientDefaults, type ResolvedConnection } from "./call.js";
import { Connection, type ConnectionOptions } from "./connection.js";
import { resolveClientConnection } from "./connection-base.js";

/**
 * Options of every Baton client: the {@link ConnectionOptions} (each optional: the client
 * fills in its default address), or `connection`, a connection to share with other
 * clients (the client then does not close it, and the connection options are not used).
 */
export interface ClientOptions extends Partial<ConnectionOptions> {
  /** A connection to share; the client does not close it. */
  connection?: Connection;
}

/** Resolves client options to a connection, and whether the client owns (and closes) it. */
export function resolveConnection(options: ClientOptions, defaults?: ClientDefaults): ResolvedConnection<Connection> {
  return resolveClientConnection(Connection, options, defaults);
}

/**
 * The base of every Baton client: it owns (or shares) one {@link Connection}, and closes
 * it with {@link BatonClientBase.close} or `await using`.
 */
export abstract class BatonClient extends BatonClientBase<Connection> {
  /** @throws {InvalidArgumentError} on an unusable address or option combination. */
  protected constructor(options: ClientOptions, defaults: ClientDefaults) {
    super(resolveConnection(options, defaults));
  }
}
