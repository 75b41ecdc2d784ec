import { createHmac, timingSafeEqual } from "node:crypto";

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

const b64url = (data: Buffer | string): string => Buffer.from(data).toString("base64url");

/** Signs `claims` as a compact HS256 JWT. */
export function signJwt(claims: PortariumClaims, secret: string): string {
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify(claims));
  const sig = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}

/** Why a token was refused. */
export class JwtError extends Error {}

/**
 * Verifies a compact HS256 JWT: structure, algorithm (only HS256; `none` and others are
 * refused), signature in constant time, issuer, and expiry.
 *
 * @throws {JwtError} when any check fails; the message says which.
 */
export function verifyJwt(token: string, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): PortariumClaims {
  const parts = token.split(".");
  if (parts.length !== 3) throw new JwtError("malformed token");
  const [head, body, sig] = parts as [string, string, string];
  let header: unknown;
  let claims: unknown;
  try {
    header = JSON.parse(Buffer.from(head, "base64url").toString("utf8"));
    claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch {
    throw new JwtError("malformed token");
  }
  if (typeof header !== "object" || header === null || (header as { alg?: unknown }).alg !== "HS256") {
    throw new JwtError("unsupported token algorithm");
  }
  const expected = createHmac("sha256", secret).update(`${head}.${body}`).digest();
  const given = Buffer.from(sig, "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new JwtError("bad signature");
  const c = claims as Partial<PortariumClaims>;
  if (typeof c !== "object" || c === null || typeof c.sub !== "string" || typeof c.workspace !== "string") {
    throw new JwtError("token lacks sub or workspace");
  }
  if (c.iss !== JWT_ISSUER) throw new JwtError("wrong issuer");
  if (typeof c.exp !== "number" || c.exp <= nowSeconds) throw new JwtError("token expired");
  return c as PortariumClaims;
}
