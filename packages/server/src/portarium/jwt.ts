/** The claims of a Portarium access token issued by the reference server. */
export interface PortariumClaims {
  /** Issuer: always `baton-server`. */
  iss: string;
  /** Subject: the service account's client id. */
  sub: string;
  /** The one workspace the token is scoped to. */
  workspace: string;
  /** Space-separated scopes, when the token was narrowed. */
  scope?: string;
  /** Issued at, seconds since the epoch. */
  iat: number;
  /** Expires at, seconds since the epoch. */
  exp: number;
  /** Unique token id. */
  jti: string;
}

/** Issuer claim of every token the reference server signs. */
export const JWT_ISSUER = "baton-server";
