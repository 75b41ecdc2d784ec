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
 * retries) over `fetch`. `hasMiddleware` says whether the user's middleware is on it (from
 * the options or `raw.use()`).
 */
export function createRaw(options: RawClientOptions): { raw: PortariumRaw; hasMiddleware: () => boolean } {
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
  // Middleware added later with `raw.use()` runs on the resources' calls too: count it.
  const added = new Set<Middleware>(options.middleware);
  const { use, eject } = raw;
  raw.use = (...middleware) => {
    use(...middleware);
    for (const m of middleware) if (m) added.add(m);
  };
  raw.eject = (...middleware) => {
    eject(...middleware);
    for (const m of middleware) added.delete(m);
  };
  return { raw, hasMiddleware: () => added.size > 0 };
}
