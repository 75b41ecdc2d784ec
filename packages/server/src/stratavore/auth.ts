import { Code, type HandlerContext } from "@connectrpc/connect";
import type { JWTPayload } from "jose";
import { JwtVerificationError, type JwtVerifier } from "../jwt-verifier.js";
import { fail, Reason } from "./errors.js";

/**
 * Stratavore's roles, read from a token's `roles` claim (an array) or `scope` (space-separated):
 * `stratavore:read` for every Get/List/Stream rpc and the daemon's status, metrics and
 * health; `stratavore:write` (includes read) for everything that changes projects, runners
 * and sessions; `stratavore:admin` (includes both) for Reconcile.
 */
export const Role = {
  /** Get, List and Stream rpcs and the daemon's status, metrics and health. */
  read: "stratavore:read",
  /** Everything that changes projects, runners and sessions (includes read). */
  write: "stratavore:write",
  /** Reconcile (includes write and read). */
  admin: "stratavore:admin",
} as const;

/** A role name. */
export type RoleName = (typeof Role)[keyof typeof Role];

const implied: Record<RoleName, RoleName[]> = {
  "stratavore:read": ["stratavore:read", "stratavore:write", "stratavore:admin"],
  "stratavore:write": ["stratavore:write", "stratavore:admin"],
  "stratavore:admin": ["stratavore:admin"],
};

/** The roles a token's claims grant. */
export function rolesOf(claims: JWTPayload): Set<string> {
  const roles = new Set<string>();
  const r = claims.roles;
  if (Array.isArray(r)) for (const x of r) if (typeof x === "string") roles.add(x);
  if (typeof claims.scope === "string") for (const x of claims.scope.split(" ")) if (x) roles.add(x);
  return roles;
}

/**
 * Checks the bearer JWT of a call against `role`: no or a bad token is UNAUTHENTICATED, a
 * valid token without the role PERMISSION_DENIED. Without a verifier (no JWT setting) every
 * call passes; mutual TLS is enforced by the listener itself (`--tls-client-ca`).
 */
export async function authorize(verify: JwtVerifier | undefined, ctx: HandlerContext, role: RoleName): Promise<void> {
  if (!verify) return;
  const header = ctx.requestHeader.get("authorization");
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!m?.[1])
    throw fail(Code.Unauthenticated, Reason.unauthenticated, "missing bearer token: send authorization: Bearer <jwt>", {
      reason: "missing",
    });
  let claims: JWTPayload;
  try {
    claims = await verify(m[1]);
  } catch (err) {
    const reason = err instanceof JwtVerificationError ? err.reason : "malformed";
    throw fail(Code.Unauthenticated, Reason.unauthenticated, `invalid bearer token: ${reason.replace(/_/g, " ")}`, {
      reason,
    });
  }
  const roles = rolesOf(claims);
  if (!implied[role].some((r) => roles.has(r)))
    throw fail(Code.PermissionDenied, Reason.permissionDenied, `this call needs role ${role}`, {
      required_role: role,
      ...(typeof claims.sub === "string" ? { subject: claims.sub } : {}),
    });
}
