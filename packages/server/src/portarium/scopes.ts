import { HttpProblem } from "./http.js";

/**
 * The resources a Portarium token scope names, one per path family of the document:
 * `/v1/workspaces[/{workspaceId}]` is `workspaces`, `/v1/workspaces/{workspaceId}/<name>/...`
 * is `<name>`.
 */
export const SCOPE_RESOURCES = [
  "workspaces",
  "workflows",
  "runs",
  "approvals",
  "agent-actions",
  "evidence",
  "machines",
  "agents",
] as const;

/** Every scope the server knows: `<resource>:read` and `<resource>:write` for each resource. */
export const ALL_SCOPES: readonly string[] = SCOPE_RESOURCES.flatMap((r) => [`${r}:read`, `${r}:write`]);

const KNOWN = new Set(ALL_SCOPES);

/**
 * The scope an operation needs: `<resource>:read` for GET, `<resource>:write` for every
 * other method (POST, PATCH, DELETE: connection tests and invocations included), where the
 * resource is the path's first segment after the workspace (`workspaces` for the workspace
 * itself). `listRunEvidence` (`GET .../runs/{runId}/evidence`) is `runs:read`.
 *
 * @throws {Error} for a path outside `/v1/workspaces` or a resource {@link SCOPE_RESOURCES}
 *   does not list, so a new path of the document cannot go unscoped.
 */
export function requiredScope(method: string, template: string): string {
  const segments = template.split("/").slice(1);
  if (segments[0] !== "v1" || segments[1] !== "workspaces") throw new Error(`${template} has no scope`);
  const resource = segments.length <= 3 ? "workspaces" : (segments[3] as string);
  if (!(SCOPE_RESOURCES as readonly string[]).includes(resource)) {
    throw new Error(`${method} ${template}: ${resource} is not a scope resource`);
  }
  return `${resource}:${method.toUpperCase() === "GET" ? "read" : "write"}`;
}

/**
 * Parses a space-separated scope list (a token's `scope` claim, a token request's `scope`).
 *
 * @returns the scopes, or the names that are not scopes the server knows.
 */
export function parseScopes(text: string): { scopes: string[]; unknown: string[] } {
  const names = [...new Set(text.split(/\s+/).filter(Boolean))];
  return { scopes: names.filter((n) => KNOWN.has(n)), unknown: names.filter((n) => !KNOWN.has(n)) };
}

/**
 * Whether a token whose `scope` claim is `granted` may use an operation needing `required`.
 * A token without a `scope` claim may do everything; `<resource>:write` includes
 * `<resource>:read`.
 */
export function grants(granted: string | undefined, required: string): boolean {
  if (granted === undefined) return true;
  const have = new Set(granted.split(/\s+/));
  return have.has(required) || (required.endsWith(":read") && have.has(required.replace(/:read$/, ":write")));
}

/**
 * The 403 of a token without the scope an operation needs, with the RFC 6750 challenge
 * `WWW-Authenticate: Bearer realm="portarium", error="insufficient_scope", scope="<required>"`.
 */
export function insufficientScope(required: string, granted: string): HttpProblem {
  return new HttpProblem(
    403,
    "insufficient-scope",
    `insufficient_scope: this operation needs scope ${required}; the token has ${granted.trim() || "no scopes"}`,
    {
      headers: {
        "www-authenticate": `Bearer realm="portarium", error="insufficient_scope", scope="${required}"`,
      },
    },
  );
}
