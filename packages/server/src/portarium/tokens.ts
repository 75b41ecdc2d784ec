import { randomUUID } from "node:crypto";
import type { components } from "@baton/wire/portarium";
import { safeEqual } from "../auth.js";
import type { Clock } from "../clock.js";
import {
  createJwtSigner,
  createJwtVerifier,
  type JwtSigner,
  JwtVerificationError,
  type JwtVerifier,
} from "../jwt-verifier.js";
import { HttpProblem, problems } from "./http.js";
import { JWT_ISSUER, type PortariumClaims } from "./jwt.js";
import { parseScopes } from "./scopes.js";
import type { ServiceAccount } from "./service-accounts.js";

type S = components["schemas"];

/** Options of a {@link TokenIssuer}. */
export interface TokenIssuerOptions {
  /** Who may get tokens, for which workspaces. */
  accounts: readonly ServiceAccount[];
  /** The HS256 signing secret. */
  secret: string;
  /** Lifetime of issued tokens, in seconds. */
  ttlSeconds: number;
  /** Where `iat`, `exp` and expiry checks read the time. */
  clock: Clock;
}

/**
 * Issues and verifies the module's workspace-scoped bearer JWTs: service accounts exchange
 * their credentials for a token (`issueToken`), every other operation presents one.
 */
export class TokenIssuer {
  readonly #o: TokenIssuerOptions;
  readonly #sign: JwtSigner;
  readonly #verify: JwtVerifier;

  constructor(options: TokenIssuerOptions) {
    this.#o = options;
    this.#sign = createJwtSigner({ secret: options.secret });
    // The server's one verifier; `exp` and `sub` are required so a token never lives forever.
    this.#verify = createJwtVerifier({
      secret: options.secret,
      issuer: JWT_ISSUER,
      requiredClaims: ["exp", "sub"],
      now: () => options.clock.now(),
    });
  }

  #nowSeconds(): number {
    return Math.floor(this.#o.clock.now() / 1000);
  }

  /** Signs a token with the issuer's secret; unset claims get this issuer's defaults. */
  sign(claims: Partial<PortariumClaims> & { sub: string; workspace: string }): Promise<string> {
    const iat = this.#nowSeconds();
    return this.#sign({ iss: JWT_ISSUER, iat, exp: iat + this.#o.ttlSeconds, jti: randomUUID(), ...claims });
  }

  /**
   * Exchanges client credentials for a token scoped to one workspace.
   *
   * @throws {HttpProblem} 401 for an unknown client or a wrong secret, 403 when the account
   *   may not use the workspace, 400 `invalid_scope` for a scope the server does not know or
   *   the account may not have.
   */
  async issue(body: S["IssueTokenRequest"]): Promise<S["IssueTokenResponse"]> {
    const account = this.#o.accounts.find((a) => a.clientId === body.clientId);
    if (!account || !safeEqual(account.clientSecret, body.clientSecret)) {
      throw problems.unauthorized("unknown client or wrong secret");
    }
    if (!account.workspaces.includes(body.workspaceId)) {
      throw problems.forbidden(`client ${body.clientId} may not use workspace ${body.workspaceId}`);
    }
    const scope = this.#scopeOf(account, body.scope);
    const accessToken = await this.sign({
      sub: account.clientId,
      workspace: body.workspaceId,
      ...(scope !== undefined ? { scope } : {}),
    });
    return {
      accessToken,
      tokenType: "Bearer",
      expiresIn: this.#o.ttlSeconds,
      workspaceId: body.workspaceId,
      ...(scope !== undefined ? { scope } : {}),
    };
  }

  /**
   * The `scope` claim of a token for `account`: the requested scopes (each one the server
   * knows and the account may have), else the account's, else none (every scope).
   */
  #scopeOf(account: ServiceAccount, requested: string | undefined): string | undefined {
    if (requested === undefined) return account.scopes?.join(" ");
    const { scopes, unknown } = parseScopes(requested);
    const beyond = account.scopes ? scopes.filter((s) => !account.scopes?.includes(s)) : [];
    if (unknown.length > 0 || beyond.length > 0 || scopes.length === 0) {
      const why = [
        unknown.length > 0 ? `unknown scopes: ${unknown.join(", ")} (scopes are <resource>:read|write)` : "",
        beyond.length > 0 ? `client ${account.clientId} may not have: ${beyond.join(", ")}` : "",
        scopes.length === 0 && unknown.length === 0 ? "no scope requested" : "",
      ].filter(Boolean);
      throw new HttpProblem(400, "invalid-scope", `invalid_scope: ${why.join("; ")}`, {
        errors: { "/scope": why },
      });
    }
    return scopes.join(" ");
  }

  /**
   * Verifies an `Authorization` header's bearer token and answers its claims.
   *
   * @throws {HttpProblem} 401 (with `WWW-Authenticate: Bearer`) when the header is missing or
   *   malformed, or the token is badly signed or expired.
   */
  async authenticate(header: string | undefined): Promise<PortariumClaims> {
    const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m?.[1]) throw problems.unauthorized("missing bearer token: send Authorization: Bearer <token>");
    let claims: Record<string, unknown>;
    try {
      claims = await this.#verify(m[1]);
    } catch (err) {
      throw problems.unauthorized(
        err instanceof JwtVerificationError ? `invalid token: ${err.message}` : "invalid token",
      );
    }
    if (typeof claims.sub !== "string" || typeof claims.workspace !== "string") {
      throw problems.unauthorized("invalid token: token lacks sub or workspace");
    }
    return claims as unknown as PortariumClaims;
  }
}
