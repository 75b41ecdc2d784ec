import { randomUUID } from "node:crypto";
import type { components } from "@baton/wire/portarium";
import { safeEqual } from "../auth.js";
import type { Clock } from "../clock.js";
import { problems } from "./http.js";
import { JWT_ISSUER, JwtError, type PortariumClaims, signJwt, verifyJwt } from "./jwt.js";
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

  constructor(options: TokenIssuerOptions) {
    this.#o = options;
  }

  #nowSeconds(): number {
    return Math.floor(this.#o.clock.now() / 1000);
  }

  /** Signs a token with the issuer's secret; unset claims get this issuer's defaults. */
  sign(claims: Partial<PortariumClaims> & { sub: string; workspace: string }): string {
    const iat = this.#nowSeconds();
    return signJwt(
      { iss: JWT_ISSUER, iat, exp: iat + this.#o.ttlSeconds, jti: randomUUID(), ...claims },
      this.#o.secret,
    );
  }

  /**
   * Exchanges client credentials for a token scoped to one workspace.
   *
   * @throws {HttpProblem} 401 for an unknown client or a wrong secret, 403 when the account
   *   may not use the workspace.
   */
  issue(body: S["IssueTokenRequest"]): S["IssueTokenResponse"] {
    const account = this.#o.accounts.find((a) => a.clientId === body.clientId);
    if (!account || !safeEqual(account.clientSecret, body.clientSecret)) {
      throw problems.unauthorized("unknown client or wrong secret");
    }
    if (!account.workspaces.includes(body.workspaceId)) {
      throw problems.forbidden(`client ${body.clientId} may not use workspace ${body.workspaceId}`);
    }
    const accessToken = this.sign({
      sub: account.clientId,
      workspace: body.workspaceId,
      ...(body.scope ? { scope: body.scope } : {}),
    });
    return { accessToken, tokenType: "Bearer", expiresIn: this.#o.ttlSeconds, workspaceId: body.workspaceId };
  }

  /**
   * Verifies an `Authorization` header's bearer token and answers its claims.
   *
   * @throws {HttpProblem} 401 (with `WWW-Authenticate: Bearer`) when the header is missing or
   *   malformed, or the token is badly signed or expired.
   */
  authenticate(header: string | undefined): PortariumClaims {
    const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m?.[1]) throw problems.unauthorized("missing bearer token: send Authorization: Bearer <token>");
    try {
      return verifyJwt(m[1], this.#o.secret, this.#nowSeconds());
    } catch (err) {
      throw problems.unauthorized(err instanceof JwtError ? `invalid token: ${err.message}` : "invalid token");
    }
  }
}
