import type { Connection, FetchLike } from "@baton/core";
import type { paths } from "@baton/wire/portarium";
import createClient, { type Client, type Middleware } from "openapi-fetch";
import type { TokenSource } from "./auth.js";
import { correlationIdMiddleware } from "./correlation-id.js";
import { createTransport } from "./transport.js";

/** The typed openapi-fetch client of the Portarium API (`portarium.raw`). */
export type PortariumRaw = Client<paths>;

/** What {@link createRaw} builds a raw client from. */
export interface RawClientOptions {
  /** The connection: base URL, retry policy, logger and default headers. */
  connection: Connection;
  /** The fetch requests finally go through. */
  fetch: FetchLike;
  /** Where bearer tokens come from. */
  tokens: TokenSource;
  /** The workspace whose token calls without one in their path use. */
  workspaceId: string | undefined;
  /** The user's middleware, run after the correlation id is set. */
  middleware: readonly Middleware[];
}

/**
 * The openapi-fetch client every call goes through: the connection's base URL and headers,
 * a correlation id per call, the user's middleware, then {@link createTransport} (auth,
 * retries) over `fetch`.
 */
export function createRaw(options: RawClientOptions): PortariumRaw {
  const { connection } = options;
  const raw = createClient<paths>({
    baseUrl: connection.address.baseUrl,
    fetch: createTransport({
      fetch: options.fetch,
      tokens: options.tokens,
      defaultWorkspaceId: options.workspaceId,
      retry: connection.retryPolicy,
      logger: connection.logger,
    }),
    ...(connection.options.headers ? { headers: connection.options.headers } : {}),
  });
  raw.use(correlationIdMiddleware, ...options.middleware);
  return raw;
}
