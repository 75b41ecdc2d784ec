import { InvalidArgumentError } from "@baton/core";
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

/** Returns a bearer token for a call. */
export type TokenProvider = (request: TokenRequest) => string | Promise<string>;

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
export function providerTokenSource(provider: TokenProvider): TokenSource {
  return {
    get: async (workspaceId, forceRefresh) => provider({ workspaceId, forceRefresh }),
    refreshable: true,
  };
}

interface Cached {
  token: string;
  refreshAt: number;
}

/**
 * Client-credentials tokens: fetched from `POST /v1/auth/token` per workspace, cached until
 * shortly before they expire (10% of their lifetime, at most 60 s early), fetched once when
 * several calls need one at the same time, and fetched anew when `forceRefresh` is set.
 */
export function clientCredentialsTokenSource(
  baseUrl: string,
  credentials: ClientCredentials,
  defaultWorkspaceId: string | undefined,
  fetchImpl: (request: Request) => Promise<Response>,
  now: () => number = Date.now,
): TokenSource & { readonly issued: number } {
  const cache = new Map<string, Cached>();
  const inflight = new Map<string, Promise<string>>();
  let issued = 0;
  const fetchToken = async (workspaceId: string): Promise<string> => {
    const res = await fetchImpl(
      new Request(`${baseUrl.replace(/\/+$/, "")}/v1/auth/token`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({
          clientId: credentials.clientId,
          clientSecret: credentials.clientSecret,
          workspaceId,
          ...(credentials.scope ? { scope: credentials.scope } : {}),
        }),
      }),
    );
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // keep the text
    }
    if (!res.ok) throw problemToError(res.status, body, res.headers);
    const { accessToken, expiresIn } = body as { accessToken: string; expiresIn: number };
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
