import { type Logger, silentLogger } from "@baton/core";
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { bearerAuthInterceptor } from "./auth.js";
import { type Clock, systemClock } from "./clock.js";
import { type ConnectionLimits, resolveConnectionLimits } from "./connection-limits.js";
import { parseCorsOrigins, withCors } from "./cors.js";
import type { RpcPathCounts } from "./grpc-fast-path.js";
import { type Listener, listen, type ServerTlsOptions, type StreamHandler } from "./listen.js";
import type { AnyResponse, ModuleFactory, ServiceModule } from "./module.js";
import { defaultModules } from "./modules.js";
import { REFLECTION_SERVICES } from "./reflection/module.js";
import { createRequestHandler } from "./request-handler.js";
import { requestLogInterceptor } from "./request-log.js";
import { checkSettings } from "./settings.js";
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, ShutdownGate } from "./shutdown.js";

/**
 * Options of {@link startServer}. The connection limits (`connectionTimeoutMs`,
 * `headerTimeoutMs`, `requestTimeoutMs`, `maxConnections`, `maxStreamBufferBytes`,
 * `streamStallTimeoutMs`) are described, with their defaults, on {@link ConnectionLimits}.
 */
export interface ServerOptions extends Partial<ConnectionLimits> {
  /** Addresses to listen on: `127.0.0.1:PORT` (0 picks a free port) or `unix:///path`. Default `127.0.0.1:50051`. */
  listen?: string[];
  /** When set, every gRPC call needs `authorization: Bearer <token>`. */
  token?: string;
  /** Serve TLS (and mutual TLS with `clientCa`). */
  tls?: ServerTlsOptions;
  /**
   * Module settings (`--set key=value`), read by the modules that know them. A key of a
   * running module that its factory does not declare, or a value it does not allow, is
   * refused.
   */
  settings?: Record<string, string>;
  /** Which modules to run. Default: every contract the server speaks. */
  modules?: ModuleFactory[];
  /**
   * Where the server logs. Default: nowhere. Every gRPC/Connect call and every Portarium
   * REST request is logged at info level when it ends (`request`, with method, code or
   * status, ms and request id).
   */
  logger?: Logger;
  /**
   * The largest request message accepted, in bytes. A larger one fails with
   * RESOURCE_EXHAUSTED before it is buffered whole, as gRPC servers do. Default 4 MiB
   * (gRPC's default).
   */
  maxReceiveMessageBytes?: number;
  /**
   * The largest response message sent, in bytes. A handler answering a larger one fails
   * with RESOURCE_EXHAUSTED instead of sending it. Default 4 MiB (gRPC's default).
   */
  maxSendMessageBytes?: number;
  /**
   * Where every module reads the time and sets its timers. Default: the system clock. Tests
   * pass a `ManualClock` to move time (expiry, heartbeats, lifetimes) without sleeping.
   */
  clock?: Clock;
  /**
   * How long {@link BatonServer.close} (and SIGTERM/SIGINT in `baton-server`) lets calls in
   * flight finish, in ms on the server's clock, before it ends the calls still open (streams
   * that follow, above all) with UNAVAILABLE "server shutting down". Default 10000 (the
   * seed's 10 s shutdown timeout); 0 ends them at once.
   */
  shutdownTimeoutMs?: number;
  /**
   * Origins whose pages may call the server from a browser (CORS, `--cors-origin`): each
   * `https://host[:port]`-style origin, or `*` for any. Preflights are answered and the
   * CORS headers set for gRPC-Web, Connect and REST alike. Default none: no CORS headers,
   * and browsers refuse cross-origin calls.
   */
  corsOrigins?: string[];
}

/** gRPC's default limit on a received message: 4 MiB. */
export const DEFAULT_MAX_RECEIVE_MESSAGE_BYTES = 4 * 1024 * 1024;

/** The default limit on a sent message: 4 MiB, as for received ones. */
export const DEFAULT_MAX_SEND_MESSAGE_BYTES = 4 * 1024 * 1024;

/** What is open on a running server now. */
export interface ServerStats {
  /** Open connections over every listen address. */
  connections: number;
  /** Requests whose response has not closed (open streams included). */
  requests: number;
  /** Bytes written to those responses that their clients have not read yet. */
  bufferedBytes: number;
  /**
   * How many RPCs were served since the start by the gRPC fast path (HTTP/2 gRPC with
   * protobuf and no request compression, to a unary or server-streaming method) and by
   * connect-es's router (everything else).
   */
  rpcPaths: RpcPathCounts;
}

/** A running reference server. */
export interface BatonServer {
  /** The addresses it listens on, as clients dial them. */
  readonly addresses: readonly string[];
  /** The running modules, by name (tests reach their stores through these). */
  readonly modules: ReadonlyMap<string, ServiceModule>;
  /** Open connections, requests and unread response bytes, now. */
  stats(): ServerStats;
  /** Destroys every open connection without stopping (simulates a network drop). */
  dropConnections(): void;
  /**
   * Shuts down gracefully: every module first reports that it is going away (health
   * NOT_SERVING); the listeners stop accepting (HTTP/2 clients get GOAWAY, HTTP/1.1
   * connections close after their answer) and new calls on open connections are refused
   * with UNAVAILABLE; calls in flight get `shutdownTimeoutMs` to finish, then every call
   * still open ends with UNAVAILABLE "server shutting down" (server-sent event streams
   * end); then the modules close, the connections left are cut and socket files are
   * removed. Idempotent.
   */
  close(): Promise<void>;
}

/**
 * gRPC health checks stay reachable without a token, as load balancers expect, and so does
 * server reflection: it describes only the public contracts (the same `.proto` files the
 * packages ship), so grpcurl, grpcui and Postman can list them before any credential.
 */
const unauthenticatedServices = new Set<string>(["grpc.health.v1.Health", ...REFLECTION_SERVICES]);

/**
 * Starts the reference server: every module's gRPC, gRPC-Web and Connect services plus
 * REST, on every listen address, HTTP/1.1 and HTTP/2 on each.
 *
 * @throws {Error} when an address cannot be listened on, or an option is invalid.
 *
 * @example
 * ```ts
 * const server = await startServer({ listen: ["127.0.0.1:0"], settings: { "orca.maxRuns": "100" } });
 * const orca = new OrcaClient({ address: server.addresses[0] });
 * // ... calls ...
 * await orca.close();
 * await server.close();
 * ```
 */
export async function startServer(options: ServerOptions = {}): Promise<BatonServer> {
  const readMaxBytes = options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_MESSAGE_BYTES;
  if (!Number.isSafeInteger(readMaxBytes) || readMaxBytes < 1 || readMaxBytes > 0xffffffff)
    throw new Error(`maxReceiveMessageBytes must be an integer from 1 to 4294967295, got ${readMaxBytes}`);
  const writeMaxBytes = options.maxSendMessageBytes ?? DEFAULT_MAX_SEND_MESSAGE_BYTES;
  if (!Number.isSafeInteger(writeMaxBytes) || writeMaxBytes < 1 || writeMaxBytes > 0xffffffff)
    throw new Error(`maxSendMessageBytes must be an integer from 1 to 4294967295, got ${writeMaxBytes}`);
  const limits = resolveConnectionLimits(options);
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  if (!Number.isSafeInteger(shutdownTimeoutMs) || shutdownTimeoutMs < 0)
    throw new Error(`shutdownTimeoutMs must be an integer >= 0, got ${shutdownTimeoutMs}`);
  const corsOrigins = parseCorsOrigins(options.corsOrigins ?? []);
  const logger = options.logger ?? silentLogger;
  const factories = options.modules ?? defaultModules;
  // A setting of a running module that the module does not declare is a typo: refuse it.
  checkSettings(
    options.settings ?? {},
    factories.flatMap((f) => f.settings ?? []),
    { onlyDeclaredPrefixes: true },
  );
  const settings = new Map(Object.entries(options.settings ?? {}));
  const clock = options.clock ?? systemClock;
  const gate = new ShutdownGate();
  const ctx = { logger, options: { token: options.token, settings }, clock, shutdownSignal: gate.signal };
  const modules = factories.map((factory) => factory(ctx));

  // Streams end with their call first; then the request log: it sees every call's outcome,
  // refusals by the others included; then the shutdown gate, which refuses calls made
  // while draining.
  const interceptors: Interceptor[] = [
    endStreamsOnAbort(),
    requestLogInterceptor(logger),
    gate.interceptor(),
    errorBoundary(logger),
  ];
  if (options.token !== undefined) {
    interceptors.push(bearerAuthInterceptor(options.token, (s) => unauthenticatedServices.has(s)));
  }
  const rest = modules.filter((m) => m.handleHttp);
  const requests = createRequestHandler({
    routes: (router: ConnectRouter) => {
      for (const m of modules) m.routes?.(router);
    },
    interceptors,
    readMaxBytes,
    writeMaxBytes,
    limits,
    logger,
    shutdownSignal: gate.signal,
    rest: async (req, res) => {
      if (gate.draining) {
        refuseWhileDraining(res);
        return true;
      }
      for (const m of rest) if (await m.handleHttp?.(req, res)) return true;
      return false;
    },
  });
  // CORS outermost, so every answer to an allowed origin carries it (a 503 while draining too).
  const handler = withCors(gate.track(requests.handler), corsOrigins);
  // gRPC fast-path streams skip Node's compat objects; with CORS on, a request from a
  // browser origin goes through the handler, which answers with the CORS headers.
  const tracked = gate.trackStreams(requests.streams);
  const streams: StreamHandler =
    corsOrigins.length === 0
      ? tracked
      : (s, headers, raw, secure) => headers.origin === undefined && tracked(s, headers, raw, secure);

  const listeners: Listener[] = [];
  try {
    for (const spec of options.listen ?? ["127.0.0.1:50051"])
      listeners.push(await listen(spec, handler, options.tls, limits, streams));
    const started = { addresses: listeners.map((l) => l.address) };
    for (const m of modules) await m.start?.(started);
  } catch (err) {
    requests.close();
    await Promise.all(listeners.map((l) => l.close()));
    for (const m of modules) await m.close?.();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    addresses: listeners.map((l) => l.address),
    modules: new Map(modules.map((m) => [m.name, m])),
    stats() {
      const { requests: open, bufferedBytes, rpcPaths } = requests.stats();
      return { connections: listeners.reduce((n, l) => n + l.connections, 0), requests: open, bufferedBytes, rpcPaths };
    },
    dropConnections() {
      for (const l of listeners) l.dropConnections();
    },
    close() {
      closing ??= (async () => {
        for (const m of modules) m.beginShutdown?.();
        for (const l of listeners) l.stopAccepting();
        logger.info("shutting down", { inFlight: gate.active, shutdownTimeoutMs });
        await gate.drain(clock, shutdownTimeoutMs);
        for (const m of modules) await m.close?.();
        await Promise.all(listeners.map((l) => l.close()));
        requests.close();
      })();
      return closing;
    },
  };
}

/** A REST request that arrives while the server drains: 503 problem+json, and the connection closes. */
function refuseWhileDraining(res: AnyResponse): void {
  res.writeHead(503, { "content-type": "application/problem+json", "retry-after": "1" });
  res.end(
    JSON.stringify({ type: "about:blank", title: "Service Unavailable", status: 503, detail: "server shutting down" }),
  );
}

/**
 * Ends a streaming response when its call is aborted (the client cancelled, reset the
 * stream or dropped the connection; the deadline passed; the shutdown's drain period
 * ended). Connect stops reading the response then, but never returns its generator: one
 * suspended at a `yield` (its last message still being written) would never resume, so
 * its `finally` (timers, followers, the request log line) would never run. This returns
 * the inner generators at once, running every `finally` down to the handler's (one that
 * is busy ends on its aborted signal), and a stream that ends on an aborted call ends with
 * the abort's status (DEADLINE_EXCEEDED, UNAVAILABLE, CANCELED), never a clean end.
 */
function endStreamsOnAbort(): Interceptor {
  return (next) => (req) => {
    // A method that answers one message has no stream to end: no extra async step for it.
    const kind = req.method.methodKind;
    if (kind === "unary" || kind === "client_streaming") return next(req);
    return next(req).then((res) => (res.stream ? { ...res, message: endOnAbort(res.message, req.signal) } : res));
  };
}

/**
 * `source`'s messages until `signal` aborts, then the abort's error (see
 * {@link endStreamsOnAbort}). An iterator written out rather than an async generator: it
 * sits on every message of every stream, and a generator layer costs a promise and a
 * resumption per message.
 */
function endOnAbort<T>(source: AsyncIterable<T>, signal: AbortSignal): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const it = source[Symbol.asyncIterator]();
      let busy = false;
      let ended = false;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        signal.removeEventListener("abort", onAbort);
      };
      // Returns the source at once: every `finally` down to the handler's runs.
      const end = () => {
        release();
        if (ended) return;
        ended = true;
        void it.return?.(undefined)?.catch(() => {});
      };
      const onAbort = () => {
        if (!busy) end();
      };
      signal.addEventListener("abort", onAbort, { once: true });
      const abortError = () => ConnectError.from(signal.reason, Code.Canceled);
      const finished: IteratorResult<T> = { done: true, value: undefined };
      // Made once per stream, not per message.
      const onValue = (r: IteratorResult<T>) => {
        busy = false;
        if (r.done) {
          ended = true;
          release();
          if (signal.aborted) throw abortError();
          return r;
        }
        // Aborted while the handler was busy: nothing more goes out, so end it now
        // rather than hand out a value nobody may ever ask past.
        if (signal.aborted) {
          end();
          throw abortError();
        }
        return r;
      };
      const onError = (err: unknown) => {
        busy = false;
        ended = true;
        release();
        throw err;
      };
      return {
        next() {
          if (ended) {
            release();
            return signal.aborted ? Promise.reject(abortError()) : Promise.resolve(finished);
          }
          busy = true;
          return it.next().then(onValue, onError);
        },
        return(value?: unknown) {
          end();
          return Promise.resolve({ done: true, value } as IteratorResult<T>);
        },
      };
    },
  };
}

/** Turns unexpected exceptions into INTERNAL (logged), so a bug never crashes the process. */
function errorBoundary(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      if (err instanceof ConnectError) throw err;
      logger.error("handler failed", { method: req.method.name, error: String(err) });
      throw new ConnectError("internal error", Code.Internal, undefined, undefined, err);
    }
  };
}
