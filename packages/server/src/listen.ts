import { existsSync, rmSync, statSync } from "node:fs";
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type * as stream from "node:stream";
import { parseAddress } from "@baton/core";
import { Code } from "@connectrpc/connect";
import { type ConnectionLimits, DEFAULT_CONNECTION_LIMITS, MAX_HEADER_BYTES } from "./connection-limits.js";
import { rawHttp1Refusal, renderRefusal, wireProtocolOf } from "./refusal.js";

/** A request handler for both HTTP versions. */
export type Handler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/**
 * Serves an HTTP/2 stream straight from the session, before Node's compatibility layer
 * builds its request and response objects: returns true when it took the stream, false to
 * have the {@link Handler} serve it as usual. `rawHeaders` are the request's headers as
 * received (name, value, ...); `secure` says the connection is TLS.
 */
export type StreamHandler = (
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  rawHeaders: string[],
  secure: boolean,
) => boolean;

/** TLS settings of the server. */
export interface ServerTlsOptions {
  /** Server certificate (PEM). */
  cert: string | Buffer;
  /** Server private key (PEM). */
  key: string | Buffer;
  /** CA of client certificates; when set, clients must present a valid certificate (mutual TLS). */
  clientCa?: string | Buffer;
}

/** A socket the server listens on. */
export interface Listener {
  /** The address as a client would dial it (`127.0.0.1:PORT`, `https://…`, `unix:///path`). */
  readonly address: string;
  /** Connections open now. */
  readonly connections: number;
  /** Destroys every open connection (tests use this to simulate a dropped network). */
  dropConnections(): void;
  /**
   * Stops accepting: the listening socket closes, HTTP/2 connections get GOAWAY (their open
   * streams go on), HTTP/1.1 connections close once their request is answered (idle ones
   * at once). Idempotent.
   */
  stopAccepting(): void;
  /**
   * Stops accepting, lets the connections left finish writing (briefly), cuts what is
   * still open and removes the socket file.
   */
  close(): Promise<void>;
}

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0");

/** How long (ms) {@link Listener.close} lets the connections left finish writing before it cuts them. */
const CLOSE_GRACE_MS = 500;

/**
 * Listens on one address (`host:port` or `unix:///path`), serving HTTP/1.1 and HTTP/2 on
 * the same socket: cleartext connections are told apart by the HTTP/2 preface, TLS ones by
 * ALPN. `limits` bound connections: silent, idle and slow ones are closed, and at most
 * `maxConnections` are open at once (see {@link ConnectionLimits}). HTTP/2 streams are
 * offered to `streams` first, when given.
 */
export async function listen(
  spec: string,
  handler: Handler,
  tls?: ServerTlsOptions,
  limits: ConnectionLimits = DEFAULT_CONNECTION_LIMITS,
  streams?: StreamHandler,
): Promise<Listener> {
  const addr = parseAddress(spec);
  const sockets = new Set<net.Socket>();
  // HTTP/1.1 sockets, with how many of their requests are unanswered: once the listener
  // stops accepting, a socket closes when that count is 0.
  const h1Busy = new Map<net.Socket, number>();
  // Cleartext sockets that have not yet shown which HTTP version they speak.
  const unsorted = new Set<net.Socket>();
  let stopping = false;
  const endIfIdle = (socket: net.Socket) => {
    if ((h1Busy.get(socket) ?? 0) === 0) socket.end();
  };
  const serve: Handler = (req, res) => {
    if (req.httpVersionMajor === 1) {
      const socket = req.socket;
      h1Busy.set(socket, (h1Busy.get(socket) ?? 0) + 1);
      if (stopping && !res.headersSent) (res as http.ServerResponse).setHeader("connection", "close");
      res.once("close", () => {
        h1Busy.set(socket, Math.max(0, (h1Busy.get(socket) ?? 1) - 1));
        if (stopping) endIfIdle(socket);
      });
    }
    handler(req, res);
  };
  let outer: net.Server;
  let h2: http2.Http2Server | http2.Http2SecureServer;
  let h1: http.Server | undefined;
  // Node checks header timeouts on an interval: a fraction of the timeout keeps them close to it.
  const checkEveryMs = Math.max(10, Math.min(30_000, Math.floor(limits.headerTimeoutMs / 4)));
  if (tls) {
    h2 = http2.createSecureServer({
      cert: tls.cert,
      key: tls.key,
      allowHTTP1: true,
      // A TLS connection that never completes its handshake is a silent one.
      handshakeTimeout: limits.connectionTimeoutMs,
      ...(tls.clientCa ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    });
    h2.on("request", serve);
    outer = h2 as unknown as net.Server;
    // HTTP/1.1 over TLS is served by the HTTP/2 server's HTTP/1.1 fallback, with the same timeouts.
    Object.assign(h2, { headersTimeout: limits.headerTimeoutMs, requestTimeout: 0 });
    // Count TLS sockets too, so drop/close reach them.
    h2.on("secureConnection", (s: net.Socket) => track(s));
  } else {
    h2 = http2.createServer();
    h2.on("request", serve);
    h1 = http.createServer(
      {
        headersTimeout: limits.headerTimeoutMs,
        // Request bodies are timed per request by the handler (streams are exempt).
        requestTimeout: 0,
        keepAliveTimeout: limits.connectionTimeoutMs,
        connectionsCheckingInterval: checkEveryMs,
        maxHeaderSize: MAX_HEADER_BYTES,
      },
      serve,
    );
    h1.on("clientError", refuseMalformed);
    // The HTTP/1.1 server never listens itself (connections are handed to it), but Node
    // starts its header-timeout checks on "listening": start them, and stop them with the
    // listener.
    h1.emit("listening");
    const inner1 = h1;
    const inner2 = h2;
    outer = net.createServer((socket) => {
      track(socket);
      // A connection that never sends a byte is closed after the connection timeout.
      const silent = setTimeout(() => socket.destroy(), limits.connectionTimeoutMs);
      silent.unref();
      socket.once("close", () => clearTimeout(silent));
      unsorted.add(socket);
      socket.once("readable", () => {
        clearTimeout(silent);
        unsorted.delete(socket);
        const head: Buffer | null = socket.read(H2_PREFACE.length) ?? socket.read();
        if (head === null) return; // closed before sending anything
        socket.unshift(head);
        const isH2 =
          head.length >= H2_PREFACE.length
            ? head.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)
            : H2_PREFACE.subarray(0, head.length).equals(head);
        if (!isH2) h1Busy.set(socket, 0);
        (isH2 ? inner2 : inner1).emit("connection", socket);
      });
    });
    outer.once("close", () => inner1.close());
  }
  if (streams) offerStreams(h2, streams, tls !== undefined);
  outer.maxConnections = limits.maxConnections;
  function track(s: net.Socket) {
    // Answers go out as they are written: with Nagle's algorithm a small write after an
    // unacknowledged one (a gRPC-Web trailer frame, a stream message) would wait for the
    // client's delayed ACK. (A no-op on Unix sockets.)
    s.setNoDelay(true);
    sockets.add(s);
    s.once("close", () => {
      sockets.delete(s);
      unsorted.delete(s);
      h1Busy.delete(s);
    });
  }
  // HTTP/2 sessions per socket, so shutdown can send GOAWAY instead of cutting calls.
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    closeWhenIdle(session, limits.connectionTimeoutMs);
  });
  h2.on("sessionError", () => {});
  outer.on("tlsClientError", () => {});

  let closed: Promise<void> = Promise.resolve();
  let display: string;
  if (addr.socketPath !== undefined) {
    const path = addr.socketPath;
    await removeStaleSocket(path);
    await new Promise<void>((resolve, reject) => {
      outer.once("error", reject);
      outer.listen(path, () => {
        outer.off("error", reject);
        resolve();
      });
    });
    display = `unix://${path}`;
  } else {
    await new Promise<void>((resolve, reject) => {
      outer.once("error", reject);
      outer.listen(addr.port ?? 0, addr.host, () => {
        outer.off("error", reject);
        resolve();
      });
    });
    const bound = outer.address() as net.AddressInfo;
    const host = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
    display = tls ? `https://${host}:${bound.port}` : `${host}:${bound.port}`;
  }

  const stopAccepting = () => {
    if (stopping) return;
    stopping = true;
    closed = new Promise<void>((resolve) => outer.close(() => resolve()));
    for (const session of sessions) session.close();
    // New HTTP/2 sessions (a connection accepted just before) get GOAWAY too.
    h2.on("session", (session) => session.close());
    for (const s of unsorted) s.end();
    for (const s of h1Busy.keys()) endIfIdle(s);
  };

  return {
    address: display,
    get connections() {
      return sockets.size;
    },
    dropConnections() {
      for (const s of sockets) s.destroy();
    },
    stopAccepting,
    async close() {
      stopAccepting();
      // Let what is being written finish, then cut what is left (clients that stopped reading).
      const timer = setTimeout(() => {
        for (const s of sockets) s.destroy();
      }, CLOSE_GRACE_MS);
      timer.unref();
      await closed;
      clearTimeout(timer);
      if (addr.socketPath !== undefined) rmSync(addr.socketPath, { force: true });
    },
  };
}

/**
 * Puts `streams` in front of Node's compatibility layer: the "stream" listener that the
 * server's "request" listener installed (it builds `Http2ServerRequest` and
 * `Http2ServerResponse` and emits "request") now runs only for the streams that `streams`
 * does not take.
 */
function offerStreams(h2: http2.Http2Server | http2.Http2SecureServer, streams: StreamHandler, secure: boolean): void {
  const compat = h2.listeners("stream") as ((...args: unknown[]) => void)[];
  h2.removeAllListeners("stream");
  h2.on(
    "stream",
    (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
      if (streams(stream, headers, rawHeaders ?? [], secure)) return;
      for (const listener of compat) listener.call(h2, stream, headers, flags, rawHeaders);
    },
  );
}

/** Removes a socket file left behind by a dead server; refuses when a live one answers. */
async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!statSync(path).isSocket()) throw new Error(`${path} exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once("connect", () => {
      probe.destroy();
      resolve(true);
    });
    probe.once("error", () => resolve(false));
  });
  if (alive) throw new Error(`another server is listening on ${path}`);
  rmSync(path, { force: true });
}

/**
 * Closes an HTTP/2 session (GOAWAY) once it has had no open stream for `idleMs`; a session
 * with a stream open (a follow that sends nothing for hours) is left alone.
 */
function closeWhenIdle(session: http2.Http2Session, idleMs: number): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    timer = setTimeout(() => {
      if (!session.closed && !session.destroyed) session.close();
    }, idleMs);
    timer.unref();
  };
  arm();
  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    open++;
    clearTimeout(timer);
    stream.once("close", () => {
      open--;
      if (open === 0 && !session.closed && !session.destroyed) arm();
    });
  });
  session.once("close", () => clearTimeout(timer));
}

/** Reasons of the statuses {@link refuseMalformed} answers. */
const reasons: Record<number, string> = {
  400: "Bad Request",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
};

/**
 * Answers an HTTP/1.1 request the parser refused (headers over {@link MAX_HEADER_BYTES}: 431;
 * headers not complete within the header timeout: 408; anything else malformed: 400) with a
 * problem+json body, or a gRPC status when the bytes seen so far name a gRPC-Web content
 * type, and closes the connection.
 */
function refuseMalformed(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: stream.Duplex): void {
  if (err.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = err.code === "HPE_HEADER_OVERFLOW" ? 431 : err.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
  const detail =
    status === 431
      ? `the request's URL and headers exceed ${MAX_HEADER_BYTES} bytes`
      : status === 408
        ? "the request's headers were not complete within the header timeout"
        : "malformed HTTP request";
  const code = status === 431 ? Code.ResourceExhausted : status === 408 ? Code.DeadlineExceeded : Code.InvalidArgument;
  const contentType = /content-type:[ \t]*(application\/grpc[^\r\n;]*)/i.exec(
    err.rawPacket?.toString("latin1") ?? "",
  )?.[1];
  const protocol = contentType ? wireProtocolOf("POST", contentType, "/") : "rest";
  const out = renderRefusal(protocol, contentType, { code, status, title: reasons[status] ?? "Bad Request", detail });
  socket.end(rawHttp1Refusal(out, reasons[status] ?? "Bad Request"));
}
