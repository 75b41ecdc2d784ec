import {
  type ClientHttp2Session,
  connect,
  type OutgoingHttpHeaders,
  type SecureClientSessionOptions,
} from "node:http2";
import { Readable } from "node:stream";

/** A `fetch` over HTTP/2, with the sessions it keeps open. */
export interface Http2Fetch {
  /** Sends a request over a shared HTTP/2 session to its origin (`http://` uses h2c). */
  fetch(request: Request): Promise<Response>;
  /** Closes every session. */
  close(): void;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade", "host", "proxy-connection"]);

/**
 * Creates a `fetch` that speaks HTTP/2 (Node's global `fetch` speaks HTTP/1.1 only). One
 * session per origin is reused for every request; `http://` origins use cleartext h2c
 * (prior knowledge), `https://` origins TLS with ALPN `h2`.
 *
 * @example
 * ```ts
 * const h2 = createHttp2Fetch();
 * const portarium = createPortariumClient({ baseUrl, token, fetch: h2.fetch });
 * // ...
 * h2.close();
 * ```
 */
export function createHttp2Fetch(options: SecureClientSessionOptions = {}): Http2Fetch {
  const sessions = new Map<string, ClientHttp2Session>();
  const session = (origin: string): ClientHttp2Session => {
    const existing = sessions.get(origin);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const s = connect(origin, options);
    s.on("error", () => sessions.delete(origin));
    s.on("close", () => sessions.delete(origin));
    s.unref();
    sessions.set(origin, s);
    return s;
  };
  return {
    async fetch(request: Request): Promise<Response> {
      const url = new URL(request.url);
      const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
      const headers: OutgoingHttpHeaders = {
        ":method": request.method,
        ":path": `${url.pathname}${url.search}`,
        ":scheme": url.protocol.slice(0, -1),
        ":authority": url.host,
      };
      request.headers.forEach((value, key) => {
        if (!HOP_BY_HOP.has(key)) headers[key] = value;
      });
      return new Promise<Response>((resolve, reject) => {
        request.signal.throwIfAborted();
        const s = session(url.origin);
        s.ref();
        const stream = s.request(headers, { signal: request.signal });
        const done = () => {
          if (!s.destroyed) s.unref();
        };
        stream.once("close", done);
        stream.once("error", (err) => {
          reject(request.signal.aborted ? request.signal.reason : new TypeError("fetch failed", { cause: err }));
        });
        stream.once("response", (h) => {
          const status = Number(h[":status"]);
          const out = new Headers();
          for (const [k, v] of Object.entries(h)) {
            if (k.startsWith(":") || v === undefined) continue;
            if (Array.isArray(v)) for (const x of v) out.append(k, x);
            else out.set(k, String(v));
          }
          const nobody = status === 204 || status === 304 || request.method === "HEAD";
          if (nobody) stream.resume();
          const web = nobody ? null : (Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>);
          resolve(new Response(web, { status, headers: out }));
        });
        stream.end(body);
      });
    },
    close() {
      for (const s of sessions.values()) s.close();
      sessions.clear();
    },
  };
}
