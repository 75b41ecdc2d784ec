import { createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  createLocalJWKSet,
  type JWTPayload,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
  SignJWT,
} from "jose";

/**
 * How bearer JWTs are checked: exactly one key source (a shared HMAC secret, a PEM public
 * key or certificate, or a JWKS document), plus the claims that must match.
 */
export interface JwtVerifierOptions {
  /** HS256/HS384/HS512 shared secret. */
  secret?: string;
  /** PEM public key (SPKI) or X.509 certificate: RS*, PS*, ES* and EdDSA tokens. */
  publicKey?: string;
  /** A JWKS document (`{"keys": [...]}`), as text: tokens pick their key by `kid`. */
  jwks?: string;
  /** Required `aud` (one of the token's audiences must match), when set. */
  audience?: string;
  /** Required `iss`, when set. */
  issuer?: string;
  /** Claims a token must carry (e.g. `["exp", "sub"]`); refused as `claims` otherwise. */
  requiredClaims?: readonly string[];
  /** Seconds of clock skew tolerated on `exp` and `nbf`. Default 0. */
  clockToleranceSeconds?: number;
  /** The current time in milliseconds (tests pass their own clock). Default `Date.now`. */
  now?: () => number;
}

/** Why a token was refused: a stable word for logs and error details. */
export type JwtFailure = "malformed" | "signature" | "expired" | "not_yet_valid" | "audience" | "issuer" | "claims";

/** A refused token; `reason` says which check failed. */
export class JwtVerificationError extends Error {
  /** Which check failed. */
  readonly reason: JwtFailure;

  constructor(reason: JwtFailure, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "JwtVerificationError";
    this.reason = reason;
  }
}

/** Verifies one token, answering its claims. */
export type JwtVerifier = (token: string) => Promise<JWTPayload>;

/**
 * Makes the server's one JWT verifier (jose): signature, `exp`, `nbf`, and `aud`/`iss`
 * when configured. Any module that accepts bearer JWTs (Stratavore, Portarium) uses it, so
 * they agree on what a valid token is.
 *
 * @throws {Error} when no key source or more than one is given, or a key does not parse.
 * @example
 * ```ts
 * const verify = createJwtVerifier({ secret: "s3cret", audience: "stratavore" });
 * const claims = await verify(token); // rejects with JwtVerificationError
 * ```
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const sources = [options.secret, options.publicKey, options.jwks].filter((s) => s !== undefined && s !== "");
  if (sources.length !== 1)
    throw new Error("a JWT verifier needs exactly one of: a shared secret, a public key, or a JWKS document");
  let key: Uint8Array | KeyObject | JWTVerifyGetKey;
  let algorithms: string[] | undefined;
  if (options.secret) {
    key = new TextEncoder().encode(options.secret);
    algorithms = ["HS256", "HS384", "HS512"];
  } else if (options.publicKey) {
    // A PEM SPKI key or an X.509 certificate; jose checks each token's `alg` against it.
    key = createPublicKey(options.publicKey);
    algorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
  } else {
    key = createLocalJWKSet(JSON.parse(options.jwks as string));
  }
  const now = options.now ?? Date.now;
  const verifyOptions = {
    ...(algorithms ? { algorithms } : {}),
    ...(options.audience ? { audience: options.audience } : {}),
    ...(options.issuer ? { issuer: options.issuer } : {}),
    ...(options.requiredClaims ? { requiredClaims: [...options.requiredClaims] } : {}),
    clockTolerance: options.clockToleranceSeconds ?? 0,
  };
  return async (token) => {
    try {
      // jose reads `currentDate` per call, so an injected clock moves with each verification.
      const opts = { ...verifyOptions, currentDate: new Date(now()) };
      const { payload } =
        typeof key === "function" ? await jwtVerify(token, key, opts) : await jwtVerify(token, key, opts);
      return payload;
    } catch (err) {
      throw classify(err);
    }
  };
}

/** Signs claims as a compact JWT. */
export type JwtSigner = (claims: JWTPayload) => Promise<string>;

/**
 * Makes an HS256 signer (jose's `SignJWT`) whose tokens {@link createJwtVerifier} accepts
 * with the same `secret`. The claims are signed as given: the caller sets `iat`, `exp`,
 * `iss` and the rest, so one clock decides both issuing and checking.
 *
 * @throws {Error} when `secret` is empty.
 * @example
 * ```ts
 * const sign = createJwtSigner({ secret: "s3cret" });
 * const token = await sign({ sub: "svc", exp: Math.floor(Date.now() / 1000) + 60 });
 * ```
 */
export function createJwtSigner(options: { secret: string }): JwtSigner {
  if (!options.secret) throw new Error("a JWT signer needs a non-empty shared secret");
  const key = new TextEncoder().encode(options.secret);
  return (claims) => new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key);
}

/** Reads `path` for a {@link JwtVerifierOptions} key field (`publicKey` or `jwks`). */
export function readKeyFile(path: string): string {
  return readFileSync(path, "utf8");
}

function classify(err: unknown): JwtVerificationError {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof joseErrors.JWTExpired) return new JwtVerificationError("expired", "token expired", { cause: err });
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === "nbf") return new JwtVerificationError("not_yet_valid", "token not yet valid", { cause: err });
    if (err.claim === "aud") return new JwtVerificationError("audience", "token audience mismatch", { cause: err });
    if (err.claim === "iss") return new JwtVerificationError("issuer", "token issuer mismatch", { cause: err });
    return new JwtVerificationError("claims", `token claim invalid: ${message}`, { cause: err });
  }
  if (
    err instanceof joseErrors.JWSSignatureVerificationFailed ||
    err instanceof joseErrors.JWKSNoMatchingKey ||
    err instanceof joseErrors.JOSEAlgNotAllowed
  )
    return new JwtVerificationError("signature", "token signature invalid", { cause: err });
  return new JwtVerificationError("malformed", `token malformed: ${message}`, { cause: err });
}
