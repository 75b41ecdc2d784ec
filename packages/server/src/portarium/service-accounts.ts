/** A service account allowed to exchange credentials for tokens. */
export interface ServiceAccount {
  /** Client id (the token's `sub`). */
  clientId: string;
  /** Client secret. */
  clientSecret: string;
  /** Workspaces it may get tokens for. */
  workspaces: string[];
}

/**
 * Parses `portarium.serviceAccounts`: one `ID:SECRET:WS1[,WS2]` per line (the secret may
 * itself contain colons).
 *
 * @throws {Error} on a malformed line.
 * @example
 * parseServiceAccounts("demo:s3cret:ws-a,ws-b"); // [{ clientId: "demo", clientSecret: "s3cret", workspaces: ["ws-a", "ws-b"] }]
 */
export function parseServiceAccounts(text: string | undefined): ServiceAccount[] {
  const out: ServiceAccount[] = [];
  for (const line of (text ?? "").split("\n").map((l) => l.trim())) {
    if (line === "") continue;
    const first = line.indexOf(":");
    const last = line.lastIndexOf(":");
    if (first <= 0 || last <= first) throw new Error(`service account wants ID:SECRET:WS[,WS], got ${line}`);
    const workspaces = line
      .slice(last + 1)
      .split(",")
      .map((w) => w.trim())
      .filter(Boolean);
    if (workspaces.length === 0) throw new Error(`service account ${line.slice(0, first)} names no workspace`);
    out.push({ clientId: line.slice(0, first), clientSecret: line.slice(first + 1, last), workspaces });
  }
  return out;
}
