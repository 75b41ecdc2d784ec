// Replays an HTTP exchange of the real Portarium control plane (a fixture under
// fixtures/real-server/) from a tiny node:http server, so the client can be tested against
// what the real server answers without running it.
import { readFileSync } from "node:fs";
import { startHttp, type TestHttpServer } from "./support.js";

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

/** Reads `fixtures/real-server/<name>.json`. */
export function loadFixture(name: string): Fixture {
  return JSON.parse(readFileSync(new URL(`./fixtures/real-server/${name}.json`, import.meta.url), "utf8")) as Fixture;
}

/**
 * Serves a fixture on a free loopback port (through `startHttp`, which records every
 * request in `seen`): each request gets the answer of the first exchange it matches; one
 * that matches none gets a 501 text body naming it, so a test sees at once that the client
 * sent something the real server was never asked.
 */
export function replay(fixture: Fixture): Promise<TestHttpServer> {
  return startHttp((req, res) => {
    const authorization = req.headers.authorization;
    const hit = fixture.exchanges.find(
      ({ request: r }) =>
        r.method === req.method &&
        (r.path.includes("?") ? r.path === req.url : r.path === req.path) &&
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
}
