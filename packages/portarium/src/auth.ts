import {
  DeadlineExceededError,
  type FetchLike,
  InvalidArgumentError,
  ProtocolError,
  toBatonError,
  UnauthenticatedError,
  UnavailableError,
} from "@baton/core";
import { problemToError } from "./errors.js";

/** Service-account credentials, exchanged at `POST /v1/auth/token` for workspace-scoped JWTs. */
export interface ClientCredentials {
  /** The service account's client id. */
  clientId: string;
  /** The service account's client secret. */
  clientSecret: string;
  /** Optional space-separated scopes to narrow tokens to. */
  scope?: string;
}

/** What a token provider is told. */
export interface TokenRequest {
  /** The workspace the call is for, when it is for one. */
  workspaceId: string | undefined;
  /** True after the server refused the previous token with a 401: return a new one. */
  forceRefresh: boolean;
}

/**
 * Returns a bearer token for a call (undefined: send none). Called for every request, and
 * once more with `forceRefresh` after a 401. A zero-argument function (core's
 * `TokenProvider`) is one too.
 */
export type PortariumTokenProvider = (request: TokenRequest) => string | undefined | Promise<string | undefined>;

/** Where the client's bearer tokens come from. */
export interface TokenSource {
  /** The token to send, or undefined for none. */
  get(workspaceId: string | undefined, forceRefresh: boolean): Promise<string | undefined>;
  /** Whether asking again after a 401 may give a different token. */
  readonly refreshable: boolean;
}

/** A fixed token (or none). */
export function staticTokenSource(token: string | undefined): TokenSource {
  return { get: async () => token, refreshable: false };
}

/** A token from a user function, called per request (and with `forceRefresh` after a 401). */
export function providerTokenSource(provider: PortariumTokenProvider): TokenSource {
  return {
    get: async (workspaceId, forceRefresh) => provider({ workspaceId, forceRefresh }),
    refreshable: true,
  };
}

/** What {@link clientCredentialsTokenSource} needs. */
export interface ClientCredentialsTokenSourceOptions {
  /** Root URL of the control plane; tokens come from `${baseUrl}/v1/auth/token`. */
  baseUrl: string;
  /** The service account. */
  credentials: ClientCredentials;
  /** The workspace of calls whose path names none (`GET /v1/workspaces`). */
  defaultWorkspaceId?: string | undefined;
  /** The fetch token requests go through. */
  fetch: FetchLike;
  /** Deadline of each token request, in ms (the client passes its `timeoutMs`). 0 or unset: none. */
  timeoutMs?: number | undefined;
  /** The clock cache expiry is measured on, in ms. Default `Date.now`. */
  now?: () => number;
}

/** Statuses that say the server has no token endpoint at all (not that the credentials are wrong). */
const NO_TOKEN_ENDPOINT = new Set([404, 405, 501]);

interface Cached {
  token: string;
  refreshAt: number;
}

/**
 * Client-credentials tokens: fetched from `POST /v1/auth/token` per workspace, cached until
 * shortly before they expire (10% of their lifetime, at most 60 s early), fetched once when
 * several calls need one at the same time, and fetched anew when `forceRefresh` is set.
 * `issued` counts the tokens fetched so far. A server without the endpoint (404, 405 or 501,
 * as the real control plane answers) fails the call with an {@link UnauthenticatedError}
 * saying the server does not issue tokens.
 *
 * @example
 * ```ts
 * const tokens = clientCredentialsTokenSource({ baseUrl, credentials: { clientId, clientSecret }, fetch });
 * const jwt = await tokens.get("ws-acme", false);
 * ```
 */
export function clientCredentialsTokenSource(options: ClientCredentialsTokenSourceOptions): TokenSource & {
  /** How many tokens have been fetched from the endpoint so far (cache hits do not count). */
  readonly issued: number;
} {
  const { credentials, defaultWorkspaceId, fetch: fetchImpl } = options;
  const now = options.now ?? Date.now;
  const url = `${options.baseUrl.replace(/\/+$/, "")}/v1/auth/token`;
  const cache = new Map<string, Cached>();
  const inflight = new Map<string, Promise<string>>();
  let issued = 0;
  const fetchToken = async (workspaceId: string): Promise<string> => {
    // One request serves every caller waiting for this workspace's token, so no caller's
    // signal may cancel it; its own deadline keeps a silent endpoint from holding them all.
    const signal = options.timeoutMs ? AbortSignal.timeout(options.timeoutMs) : undefined;
    let res: Response;
    let text: string;
    try {
      res = await fetchImpl(
        new Request(url, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json" },
          body: JSON.stringify({
            clientId: credentials.clientId,
            clientSecret: credentials.clientSecret,
            workspaceId,
            ...(credentials.scope ? { scope: credentials.scope } : {}),
          }),
          ...(signal ? { signal } : {}),
        }),
      );
      text = await res.text();
    } catch (err) {
      if (signal?.aborted) {
        throw new DeadlineExceededError(`the token endpoint did not answer within ${options.timeoutMs} ms`, {
          cause: err,
        });
      }
      // fetch rejects with a TypeError when no answer came; a browser does not say why (the
      // server is down, or CORS blocked it), Node's dial errors already map to UNAVAILABLE.
      const be = toBatonError(err);
      if (err instanceof TypeError && !(be instanceof UnavailableError)) {
        throw new UnavailableError(`the token endpoint could not be reached: ${err.message}`, { cause: err });
      }
      throw be;
    }
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // An error body may be plain text; a success body must be JSON (checked below).
    }
    if (NO_TOKEN_ENDPOINT.has(res.status)) {
      // The real control plane has no such route: its tokens come from an identity provider.
      throw new UnauthenticatedError(
        `the server at ${options.baseUrl} does not issue tokens: POST /v1/auth/token answered ${res.status}, so clientCredentials cannot work there; pass a token (or a token provider) from its identity provider instead`,
        { cause: problemToError(res.status, body, res.headers), status: res.status, retryable: false },
      );
    }
    if (!res.ok) throw problemToError(res.status, body, res.headers);
    const { accessToken, expiresIn } = (typeof body === "object" && body !== null ? body : {}) as Record<
      string,
      unknown
    >;
    if (typeof accessToken !== "string" || typeof expiresIn !== "number") {
      throw new ProtocolError("the token endpoint answered without accessToken and expiresIn");
    }
    const lifetimeMs = expiresIn * 1000;
    cache.set(workspaceId, { token: accessToken, refreshAt: now() + lifetimeMs - Math.min(60_000, lifetimeMs / 10) });
    issued++;
    return accessToken;
  };
  return {
    refreshable: true,
    get issued() {
      return issued;
    },
    async get(workspaceId, forceRefresh) {
      const ws = workspaceId ?? defaultWorkspaceId;
      if (ws === undefined) throw new InvalidArgumentError("clientCredentials need a workspaceId to get a token for");
      const hit = cache.get(ws);
      if (hit && !forceRefresh && now() < hit.refreshAt) return hit.token;
      if (forceRefresh) cache.delete(ws);
      let p = inflight.get(ws);
      if (!p) {
        p = fetchToken(ws).finally(() => inflight.delete(ws));
        inflight.set(ws, p);
      }
      return p;
    },
  };
}

/** What {@link tokenSourceOf} picks from. */
export interface TokenOptions {
  /** A fixed token, or a provider. */
  token?: string | PortariumTokenProvider | undefined;
  /** Service-account credentials. */
  clientCredentials?: ClientCredentials | undefined;
}

/**
 * The token source the options ask for: client credentials, a provider, a fixed token, or
 * none.
 *
 * @throws {InvalidArgumentError} when both `token` and `clientCredentials` are given.
 */
export function tokenSourceOf(
  options: TokenOptions,
  credentials: Omit<ClientCredentialsTokenSourceOptions, "credentials">,
): TokenSource {
  const { token, clientCredentials } = options;
  if (token !== undefined && clientCredentials !== undefined) {
    throw new InvalidArgumentError("pass either token or clientCredentials, not both");
  }
  if (clientCredentials) return clientCredentialsTokenSource({ ...credentials, credentials: clientCredentials });
  if (typeof token === "function") return providerTokenSource(token);
  return staticTokenSource(token);
}
