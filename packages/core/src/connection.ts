import * as http from "node:http";
import type * as http2 from "node:http2";
import * as https from "node:https";
import { createRequire } from "node:module";
import * as net from "node:net";
import { Readable } from "node:stream";
import * as tls from "node:tls";
import type { Interceptor, Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import type { Dispatcher, Pool } from "undici";
import type { ParsedAddress } from "./address.js";
import { markBodyInMemory } from "./body-in-memory.js";
import { ConnectionBase } from "./connection-base.js";
import { InvalidArgumentError, UnavailableError } from "./errors.js";
import type { Exchange } from "./exchange.js";
import { createLeanGrpcTransport } from "./grpc-transport.js";
import { createLeanHttp1Transport, HOP_BY_HOP, poolHeaders } from "./http1-transport.js";
import type { Logger } from "./logger.js";
import type { RetryOptions } from "./retry.js";
/** The RPC protocols a connection can speak. */
export type Protocol = "grpc" | "connect" | "grpc-web";

/** PEM text or bytes, as Node's TLS options take them. */
export type Pem = string | Uint8Array | ReadonlyArray<string | Uint8Array>;

/** TLS settings: a custom CA, mutual TLS, and the name to verify. */
export interface TlsOptions {
  /** CA certificate(s) to trust instead of the system roots. */
  ca?: Pem;
  /** Client certificate, for mutual TLS. */
  cert?: Pem;
  /** Client private key, for mutual TLS. */
  key?: Pem;
  /** Server name to send (SNI) and verify, when it differs from the address host. */
  serverName?: string;
  /** Verify the server certificate. Default true; turn off only for local experiments. */
  rejectUnauthorized?: boolean;
}

/** Returns a bearer token, called before every call so it can refresh. */
export type TokenProvider = () => string | undefined | Promise<string | undefined>;

/**
 * How to reach a server. The same shape for every Baton client.
 *
 * @example
 * ```ts
 * const options: ConnectionOptions = {
 *   address: "https://orca.internal:50051",
 *   tls: { ca: readFileSync("ca.pem") },
 *   token: async () => vault.token(),
 *   timeoutMs: 10_000,
 * };
 * ```
 */
export interface ConnectionOptions {
  /** `host:port`, `http://host:port`, `https://host:port` or `unix:///path.sock`. */
  address: string;
  /** RPC protocol. Default `grpc`. Not used by REST clients. */
  protocol?: Protocol;
  /** HTTP version. Default `2` (REST clients: `1.1`); `1.1` is allowed for `connect`, `grpc-web` and REST. */
  httpVersion?: "1.1" | "2";
  /** TLS settings; `true` for TLS with the system roots. `https://` addresses imply TLS. */
  tls?: TlsOptions | boolean;
  /** Bearer token, or a provider called for every call. */
  token?: string | TokenProvider;
  /**
   * Deadline of every unary call in ms (a call's own `timeoutMs` wins). 0 or unset: none.
   * Streams are never cut by it: they take {@link ConnectionOptions.idleTimeoutMs}.
   */
  timeoutMs?: number;
  /**
   * How long a stream may go without a message from the server before it fails with
   * `DeadlineExceededError`, in ms (a call's own `idleTimeoutMs` wins). 0 or unset: no limit.
   */
  idleTimeoutMs?: number;
  /** Retry policy for transient failures; `false` switches retries off. */
  retry?: RetryOptions | false;
  /** Headers sent with every call. */
  headers?: Record<string, string>;
  /** Extra connect-es interceptors, run inside auth and retries. */
  interceptors?: Interceptor[];
  /** Where Baton logs retries and reconnects. Default: nowhere. */
  logger?: Logger;
  /**
   * How long establishing a connection may take, in ms: TCP connect, the TLS handshake and,
   * over HTTP/2, the server's first answer (a socket that accepts and never speaks fails
   * with `UnavailableError` instead of hanging). Default 10000; 0: no limit.
   */
  dialTimeoutMs?: number;
  /** Largest message the client sends, in bytes. Default unlimited. */
  maxSendMessageBytes?: number;
  /** Largest message the client accepts, in bytes. Default 4 MiB. */
  maxReceiveMessageBytes?: number;
  /** Use the JSON format instead of binary, for `connect` and `grpc-web`. Default false. */
  useJson?: boolean;
  /**
   * What carries gRPC over HTTP/2: `lean`, Baton's own unary and server-streaming paths
   * straight over `node:http2` (no per-call stream pipeline, no AbortController for a unary
   * call without a signal or deadline; client and bidi streams still go through
   * connect-node), or `connect-node`, connect-node's gRPC transport for everything. Both share the one HTTP/2 session of the connection. Default `lean`.
   */
  grpcTransport?: "lean" | "connect-node";
  /**
   * What carries Connect and gRPC-Web over HTTP/1.1 (`httpVersion: "1.1"`): `lean`, Baton's
   * own unary path, each call one request straight on the connection's undici socket pool
   * (the body read whole from the pool's callbacks, no `node:http` request or body stream,
   * no AbortController for a call without a signal or deadline; streams of every kind still
   * go through connect-node), or `connect-node`, connect-node's transport over a `node:http`
   * agent for everything. The JSON format (`useJson`) always takes connect-node's. Default `lean`.
   */
  http1Transport?: "lean" | "connect-node";
}

/** A `fetch` over a connection's sockets (Unix sockets, TLS settings and dial timeout included). */
export type FetchLike = (request: Request) => Promise<Response>;

/**
 * A connection to one server: the transport every client call goes through. A connection
 * is expensive (it holds sockets), a client is cheap: share one connection between clients
 * (`{ connection }` in a client's options) and {@link Connection.close} it when done.
 *
 * This is the Node build (`node:http2`, `node:net`, `node:tls`): every protocol, Unix
 * sockets, custom CAs and mutual TLS. Bundlers resolving the `browser` condition get the
 * browser build instead, over `fetch` (see `BrowserConnectionOptions`).
 */
export class Connection extends ConnectionBase {
  readonly #protocol: Protocol;
  readonly #httpVersion: "1.1" | "2";
  readonly #dial: Dialer;
  #sessions: HandshakeSessionManager | undefined;
  #agent: http.Agent | undefined;
  #pool: Pool | undefined;

  /**
   * @param options how to reach the server.
   * @param defaults what the client using it defaults to where the options say nothing
   *   (REST clients pass `{ httpVersion: "1.1" }`).
   * @throws {InvalidArgumentError} on an unusable address or option combination.
   */
  constructor(options: ConnectionOptions, defaults: { httpVersion?: "1.1" | "2" } = {}) {
    const protocol = options.protocol ?? "grpc";
    if (!["grpc", "connect", "grpc-web"].includes(protocol)) {
      throw new InvalidArgumentError(`unknown protocol ${String(protocol)}: use grpc, connect or grpc-web`);
    }
    const httpVersion = options.httpVersion ?? defaults.httpVersion ?? "2";
    if (httpVersion !== "2" && httpVersion !== "1.1") {
      throw new InvalidArgumentError(`unknown httpVersion ${String(httpVersion)}: use "2" or "1.1"`);
    }
    if (options.grpcTransport !== undefined && !["lean", "connect-node"].includes(options.grpcTransport)) {
      throw new InvalidArgumentError(
        `unknown grpcTransport ${String(options.grpcTransport)}: use lean or connect-node`,
      );
    }
    if (options.http1Transport !== undefined && !["lean", "connect-node"].includes(options.http1Transport)) {
      throw new InvalidArgumentError(
        `unknown http1Transport ${String(options.http1Transport)}: use lean or connect-node`,
      );
    }
    super(options);
    this.#protocol = protocol;
    this.#httpVersion = httpVersion;
    const tlsOpts = typeof options.tls === "object" ? options.tls : undefined;
    this.#dial = dialer(this.address, tlsOpts, options.dialTimeoutMs ?? 10_000);
  }

  /**
   * A `fetch` over this connection's sockets, for REST clients: HTTP/1.1 (keep-alive) or
   * HTTP/2 (one session), Unix sockets, TLS settings and the dial timeout as for RPCs.
   * Auth, retries and deadlines are the REST client's own.
   */
  protected override createFetch(): FetchLike {
    return this.#httpVersion === "2" ? http2Fetch(this.#sessionManager()) : http1Fetch(this.#httpPool(), this.address);
  }

  /**
   * Over HTTP/1.1, straight to the undici pool (headers as a plain object, the body read
   * whole from the socket's stream); over HTTP/2, over {@link Connection.fetch}.
   */
  protected override createExchange(): Exchange {
    return this.#httpVersion === "2" ? super.createExchange() : http1Exchange(this.#httpPool(), this.address);
  }

  /** Closes the connection's sockets; calls in flight fail with CANCELED. */
  protected override async release(): Promise<void> {
    this.#sessions?.abort();
    this.#agent?.destroy();
    await this.#pool?.destroy();
  }

  #sessionManager(): HandshakeSessionManager {
    if (!this.#sessions) {
      const sessions = new HandshakeSessionManager(
        this.address.baseUrl,
        { idleConnectionTimeoutMs: 60_000 },
        {
          createConnection: () => {
            const { socket, handshakeDone } = this.#dial(["h2"], true);
            sessions.pendingDial = handshakeDone;
            return socket;
          },
        },
      );
      this.#sessions = sessions;
    }
    return this.#sessions;
  }

  #httpAgent(): http.Agent {
    if (!this.#agent) {
      const agent = this.address.secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
      // Route every socket through our dialer (Unix sockets, TLS settings, dial timeout).
      (agent as unknown as { createConnection: () => net.Socket }).createConnection = () =>
        this.#dial(["http/1.1"], false).socket;
      this.#agent = agent;
    }
    return this.#agent;
  }

  /**
   * The keep-alive socket pool of {@link Connection.fetch} over HTTP/1.1: undici's, which
   * costs a fraction of `node:http`'s per request, dialing through our dialer. No header or
   * body timeout of its own: deadlines and stream idle timeouts are the clients'.
   */
  #httpPool(): Pool {
    if (!this.#pool) {
      const ready = this.address.secure ? "secureConnect" : "connect";
      this.#pool = new (undici().Pool)(originOf(this.address.baseUrl), {
        headersTimeout: 0,
        bodyTimeout: 0,
        connect: (_opts, callback) => {
          const { socket } = this.#dial(["http/1.1"], false);
          const onReady = () => {
            socket.off("error", onError);
            callback(null, socket);
          };
          const onError = (err: Error) => {
            socket.off(ready, onReady);
            callback(err, null);
          };
          socket.once(ready, onReady).once("error", onError);
        },
      });
    }
    return this.#pool;
  }

  protected override createTransport(interceptors: Interceptor[]): Transport {
    // Checked here, not in the constructor: a REST client's connection (fetch only) may
    // well be HTTP/1.1, and has no RPC protocol.
    if (this.#protocol === "grpc" && this.#httpVersion === "1.1") {
      throw new InvalidArgumentError("the gRPC protocol needs HTTP/2; use connect or grpc-web for HTTP/1.1");
    }
    const options = this.options;
    const common = {
      baseUrl: this.address.baseUrl,
      interceptors,
      ...(options.maxSendMessageBytes ? { writeMaxBytes: options.maxSendMessageBytes } : {}),
      readMaxBytes: options.maxReceiveMessageBytes ?? 4 * 1024 * 1024,
    };
    const binary = !options.useJson;
    if (this.#protocol === "grpc" && (options.grpcTransport ?? "lean") === "lean") {
      return createLeanGrpcTransport({ ...common, sessionManager: this.#sessionManager() });
    }
    if (this.#httpVersion === "2") {
      const h2 = { ...common, httpVersion: "2" as const, sessionManager: this.#sessionManager() };
      return this.#protocol === "grpc"
        ? createGrpcTransport(h2)
        : this.#protocol === "connect"
          ? createConnectTransport({ ...h2, useBinaryFormat: binary })
          : createGrpcWebTransport({ ...h2, useBinaryFormat: binary });
    }
    const h1 = { ...common, httpVersion: "1.1" as const, nodeOptions: { agent: this.#httpAgent() } };
    const connectNode =
      this.#protocol === "connect"
        ? createConnectTransport({ ...h1, useBinaryFormat: binary })
        : createGrpcWebTransport({ ...h1, useBinaryFormat: binary });
    if (!binary || (options.http1Transport ?? "lean") !== "lean") return connectNode;
    return createLeanHttp1Transport({
      ...common,
      protocol: this.#protocol === "connect" ? "connect" : "grpc-web",
      pool: this.#httpPool(),
      streams: connectNode,
    });
  }
}

/**
 * Connect-node's session manager, plus the end of the dial: the dialer's timer, which
 * covers TCP and TLS, is cleared only when the new HTTP/2 session answers a PING, so a
 * server that accepts a connection and never speaks HTTP/2 fails the call instead of
 * hanging it.
 */
class HandshakeSessionManager extends Http2SessionManager {
  /** The handshake callback of the socket being dialed (one dial at a time per manager). */
  pendingDial: (() => void) | undefined;
  readonly #seen = new WeakSet<http2.Http2Session>();

  override async request(
    method: string,
    path: string,
    headers: http2.OutgoingHttpHeaders,
    options: Omit<http2.ClientSessionRequestOptions, "signal">,
  ): Promise<http2.ClientHttp2Stream> {
    const stream = await super.request(method, path, headers, options);
    const session = stream.session;
    if (session && !this.#seen.has(session)) {
      this.#seen.add(session);
      const done = this.pendingDial;
      this.pendingDial = undefined;
      if (done) {
        try {
          session.ping((err) => {
            if (!err) done();
          });
        } catch {
          // The session is already closing: its dial timer ends with its socket.
        }
      }
    }
    return stream;
  }
}

type Dialer = (alpn: string[], waitForHandshake: boolean) => { socket: net.Socket; handshakeDone: () => void };

/**
 * Opens sockets to the address: TCP or Unix, plain or TLS, with Nagle off, failing after
 * `timeoutMs`. With `waitForHandshake` the timer runs on past connect until `handshakeDone`.
 */
function dialer(address: ParsedAddress, tlsOpts: TlsOptions | undefined, timeoutMs: number): Dialer {
  return (alpn, waitForHandshake) => {
    const target =
      address.socketPath !== undefined
        ? { path: address.socketPath }
        : { host: address.host, port: address.port ?? (address.secure ? 443 : 80) };
    let socket: net.Socket;
    if (address.secure) {
      const serverName = tlsOpts?.serverName ?? (net.isIP(address.host) ? undefined : address.host);
      socket = tls.connect({
        ...target,
        ALPNProtocols: alpn,
        ...(serverName === undefined ? {} : { servername: serverName }),
        ...(tlsOpts?.ca === undefined ? {} : { ca: tlsOpts.ca as tls.ConnectionOptions["ca"] }),
        ...(tlsOpts?.cert === undefined ? {} : { cert: tlsOpts.cert as tls.ConnectionOptions["cert"] }),
        ...(tlsOpts?.key === undefined ? {} : { key: tlsOpts.key as tls.ConnectionOptions["key"] }),
        ...(tlsOpts?.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: tlsOpts.rejectUnauthorized }),
      });
    } else {
      socket = net.connect(target);
    }
    // Small request frames must not wait for delayed ACKs (Nagle's algorithm).
    if (address.socketPath === undefined) socket.setNoDelay(true);
    let timer: NodeJS.Timeout | undefined;
    const handshakeDone = () => clearTimeout(timer);
    if (timeoutMs > 0) {
      const where = address.socketPath ?? `${address.host}:${address.port ?? ""}`;
      timer = setTimeout(() => {
        const what = socket.connecting ? "connect to" : "complete the handshake with";
        socket.destroy(new UnavailableError(`could not ${what} ${where} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      if (!waitForHandshake) socket.once(address.secure ? "secureConnect" : "connect", handshakeDone);
      socket.once("close", handshakeDone);
    }
    return { socket, handshakeDone };
  };
}

/**
 * The undici package, loaded on the first HTTP/1.1 REST request (it is CommonJS, so
 * `require` loads it synchronously): a process that never sends one — an RPC-only client,
 * or baton-server, which imports core for its addresses — does not pay for loading it.
 */
function undici(): typeof import("undici") {
  undiciModule ??= createRequire(import.meta.url)("undici") as typeof import("undici");
  return undiciModule;
}
let undiciModule: typeof import("undici") | undefined;

const NULL_BODY_STATUS = new Set([101, 204, 205, 304]);

function responseOf(
  status: number,
  statusText: string,
  raw: http.IncomingHttpHeaders,
  body: Readable,
  method: string,
): Response {
  const headers = webHeadersOf(raw);
  const nobody = NULL_BODY_STATUS.has(status) || method === "HEAD";
  if (nobody) body.resume();
  const web = nobody ? null : (Readable.toWeb(body) as unknown as ReadableStream<Uint8Array>);
  return new Response(web, { status, statusText, headers });
}

/**
 * Like {@link responseOf}, but a body of known length up to {@link BUFFERED_BODY_MAX}
 * (a JSON answer, not an event stream) is read into memory first: a `Response` over bytes
 * costs a fraction of one over a web stream adapted from a Node stream.
 */
function bufferedResponseOf(
  status: number,
  statusText: string,
  raw: http.IncomingHttpHeaders,
  body: Readable,
  method: string,
): Promise<Response> | Response {
  const length = Number(raw["content-length"]);
  if (!(length >= 0 && length <= BUFFERED_BODY_MAX) || NULL_BODY_STATUS.has(status) || method === "HEAD") {
    return responseOf(status, statusText, raw, body, method);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    body.on("data", (c: Buffer) => chunks.push(c));
    body.once("error", reject);
    body.once("end", () => {
      const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const response = new Response(bytes, { status, statusText, headers: webHeadersOf(raw) });
      markBodyInMemory(response);
      resolve(response);
    });
  });
}

/** Bodies up to this size with a content-length are read whole by the HTTP/1.1 fetch. */
const BUFFERED_BODY_MAX = 1024 * 1024;

function webHeadersOf(raw: http.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [k, v] of Object.entries(raw)) {
    if (k.startsWith(":") || v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) headers.append(k, x);
    else headers.set(k, String(v));
  }
  return headers;
}

function fetchFailed(signal: AbortSignal | undefined, err: unknown): unknown {
  return signal?.aborted ? signal.reason : new TypeError("fetch failed", { cause: err });
}

async function requestBody(request: Request): Promise<Buffer | undefined> {
  return request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
}

/** `scheme://host[:port]` of a base URL (which may carry a path prefix). */
function originOf(baseUrl: string): string {
  return new URL(baseUrl).origin;
}

/** The path of `url` on the pool's `origin` (the request's own URL is on it: its path is what follows it). */
function poolPath(url: string, origin: string): string {
  if (url.startsWith(`${origin}/`)) return url.slice(origin.length);
  const { pathname, search } = new URL(url);
  return `${pathname}${search}`;
}

/** `fetch` over HTTP/1.1 with keep-alive sockets from undici's `pool`. */
function http1Fetch(pool: Pool, address: ParsedAddress): FetchLike {
  const origin = originOf(address.baseUrl);
  return async (request) => {
    request.signal.throwIfAborted();
    const body = await requestBody(request);
    let res: Dispatcher.ResponseData;
    try {
      res = await pool.request({
        method: request.method as "GET",
        path: poolPath(request.url, origin),
        headers: poolHeaders(request.headers),
        body: body ?? null,
        signal: request.signal,
      });
    } catch (err) {
      throw fetchFailed(request.signal, err);
    }
    return bufferedResponseOf(res.statusCode, "", res.headers, res.body, request.method);
  };
}

/** {@link Exchange} over HTTP/1.1 with keep-alive sockets from undici's `pool`, without web streams. */
function http1Exchange(pool: Pool, address: ParsedAddress): Exchange {
  const origin = originOf(address.baseUrl);
  return async ({ method, url, headers, body, signal }) => {
    signal?.throwIfAborted();
    try {
      const res = await pool.request({
        method: method as "GET",
        path: poolPath(url, origin),
        headers: poolHeaders(Object.entries(headers)),
        body: body ?? null,
        ...(signal ? { signal } : {}),
      });
      const bytes = new Uint8Array(await res.body.arrayBuffer());
      return { status: res.statusCode, headers: res.headers, body: bytes };
    } catch (err) {
      throw fetchFailed(signal, err);
    }
  };
}

/** `fetch` over the connection's HTTP/2 session (h2c for `http://`). */
function http2Fetch(sessions: HandshakeSessionManager): FetchLike {
  return async (request) => {
    request.signal.throwIfAborted();
    const url = new URL(request.url);
    const body = await requestBody(request);
    const headers: http2.OutgoingHttpHeaders = {};
    request.headers.forEach((value, key) => {
      if (!HOP_BY_HOP.has(key)) headers[key] = value;
    });
    const stream = await sessions
      .request(request.method, `${url.pathname}${url.search}`, headers, {})
      .catch((err: unknown) => Promise.reject(fetchFailed(request.signal, err)));
    return new Promise<Response>((resolve, reject) => {
      // Closing a stream with CANCEL emits "close" but no "error": settle on both, or an
      // aborted request would never answer.
      const onAbort = () => {
        reject(request.signal.reason);
        stream.close(0x8 /* CANCEL */);
      };
      request.signal.addEventListener("abort", onAbort, { once: true });
      stream.once("close", () => {
        request.signal.removeEventListener("abort", onAbort);
        reject(fetchFailed(request.signal, new Error("the HTTP/2 stream closed before a response")));
      });
      stream.once("error", (err) => reject(fetchFailed(request.signal, err)));
      stream.once("response", (h) => {
        sessions.notifyResponseByteRead(stream);
        resolve(responseOf(Number(h[":status"]), "", h as http.IncomingHttpHeaders, stream, request.method));
      });
      stream.end(body);
    });
  };
}
