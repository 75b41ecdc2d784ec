import { parseScopes } from "./scopes.js";

/** A service account allowed to exchange credentials for tokens. */
export interface ServiceAccount {
  /** Client id (the token's `sub`). */
  clientId: string;
  /** Client secret. */
  clientSecret: string;
  /** Workspaces it may get tokens for. */
  workspaces: string[];
  /** The scopes its tokens may carry; absent: every scope. */
  scopes?: string[];
}

/**
 * Parses `portarium.serviceAccounts`: one `ID:SECRET:WS1[,WS2][ SCOPE...]` per line. The
 * secret may contain colons (the last colon of the first word ends it) but no whitespace;
 * space-separated scopes after the workspaces (`runs:read machines:write`) limit what the
 * account's tokens may do, none means every scope.
 *
 * @throws {Error} on a malformed line or a scope the server does not know.
 * @example
 * parseServiceAccounts("demo:s3cret:ws-a,ws-b"); // [{ clientId: "demo", clientSecret: "s3cret", workspaces: ["ws-a", "ws-b"] }]
 * parseServiceAccounts("ro:pw:ws-a runs:read"); // [{ clientId: "ro", ..., scopes: ["runs:read"] }]
 */
export function parseServiceAccounts(text: string | undefined): ServiceAccount[] {
  const out: ServiceAccount[] = [];
  for (const line of (text ?? "").split("\n").map((l) => l.trim())) {
    if (line === "") continue;
    const [credentials = "", ...scopeWords] = line.split(/\s+/);
    const first = credentials.indexOf(":");
    const last = credentials.lastIndexOf(":");
    if (first <= 0 || last <= first) {
      throw new Error(`service account wants ID:SECRET:WS[,WS][ SCOPE...], got ${line}`);
    }
    const clientId = credentials.slice(0, first);
    const workspaces = credentials
      .slice(last + 1)
      .split(",")
      .map((w) => w.trim())
      .filter(Boolean);
    if (workspaces.length === 0) throw new Error(`service account ${clientId} names no workspace`);
    const account: ServiceAccount = { clientId, clientSecret: credentials.slice(first + 1, last), workspaces };
    if (scopeWords.length > 0) {
      const { scopes, unknown } = parseScopes(scopeWords.join(" "));
      if (unknown.length > 0) {
        throw new Error(
          `service account ${clientId}: ${unknown.join(", ")} ${unknown.length === 1 ? "is not a scope" : "are not scopes"} (scopes are <resource>:read|write)`,
        );
      }
      account.scopes = scopes;
    }
    out.push(account);
  }
  return out;
}
