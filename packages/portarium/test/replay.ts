// Replays an HTTP exchange of the real Portarium control plane (a fixture under
// fixtures/real-server/) from a tiny node:http server, so the client can be tested against
// what the real server answers without running it.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/** One request and the answer the real server gave it. */
export interface Exchange {
  /** What the request must be: method, path (with the query only when given), and `Authorization` when given. */
  request: { method: string; path: string; authorization?: string };
  /** The answer: status, headers, and a JSON body (or the body text as it is, for event streams). */
  response: { status: number; headers?: Record<string, string>; body?: unknown };
}

/** A fixture file: what it shows, and its exchanges. */
export interface Fixture {
  description: string;
  exchanges: Exchange[];
}

/** What a replaying server saw of one request. */
export interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
}

/** A running replay server. */
export interface Replay {
  /** `http://127.0.0.1:<port>`. */
  address: string;
  /** Every request it got, in order. */
  seen: Seen[];
  close(): Promise<void>;
}

/** Reads `fixtures/real-server/<name>.json`. */
export function loadFixture(name: string): Fixture {
  return JSON.parse(readFileSync(new URL(`./fixtures/real-server/${name}.json`, import.meta.url), "utf8")) as Fixture;
}

/**
 * Serves a fixture on a free loopback port: each request gets the answer of the first
 * exchange it matches; one that matches none gets a 501 text body naming it, so a test
 * sees at once that the client sent something the real server was never asked.
 */
export async function replay(fixture: Fixture): Promise<Replay> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const authorization = req.headers.authorization;
    seen.push({ method: req.method ?? "", path: url.pathname + url.search, authorization });
    req.resume();
    const hit = fixture.exchanges.find(
      ({ request: r }) =>
        r.method === req.method &&
        (r.path.includes("?") ? r.path === url.pathname + url.search : r.path === url.pathname) &&
        (r.authorization === undefined || r.authorization === authorization),
    );
    if (!hit) {
      res.writeHead(501, { "content-type": "text/plain" });
      res.end(`the fixture has no exchange for ${req.method} ${req.url} (authorization ${authorization ?? "none"})`);
      return;
    }
    const { status, headers = {}, body } = hit.response;
    const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
    res.writeHead(status, { ...headers, "content-length": String(Buffer.byteLength(text)) });
    res.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
