import { type Logger, silentLogger } from "@baton/core";
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { bearerAuthInterceptor } from "./auth.js";
import { type Clock, systemClock } from "./clock.js";
import { type Handler, type Listener, listen, type ServerTlsOptions } from "./listen.js";
import type { AnyRequest, AnyResponse, ModuleFactory, ServiceModule } from "./module.js";
import { defaultModules } from "./modules.js";
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, ShutdownGate } from "./shutdown.js";

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** Addresses to listen on: `127.0.0.1:PORT` (0 picks a free port) or `unix:///path`. Default `127.0.0.1:50051`. */
  listen?: string[];
  /** When set, every gRPC call needs `authorization: Bearer <token>`. */
  token?: string;
  /** Serve TLS (and mutual TLS with `clientCa`). */
  tls?: ServerTlsOptions;
  /** Module settings (`--set key=value`), read by the modules that know them. */
  settings?: Record<string, string>;
  /** Which modules to run. Default: every contract the server speaks. */
  modules?: ModuleFactory[];
  /** Where the server logs. Default: nowhere. */
  logger?: Logger;
  /**
   * The largest request message accepted, in bytes. A larger one fails with
   * RESOURCE_EXHAUSTED before it is buffered whole, as gRPC servers do. Default 4 MiB
   * (gRPC's default).
   */
  maxReceiveMessageBytes?: number;
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
}

/** gRPC's default limit on a received message: 4 MiB. */
export const DEFAULT_MAX_RECEIVE_MESSAGE_BYTES = 4 * 1024 * 1024;

/** A running reference server. */
export interface BatonServer {
  /** The addresses it listens on, as clients dial them. */
  readonly addresses: readonly string[];
  /** The running modules, by name (tests reach their stores through these). */
  readonly modules: ReadonlyMap<string, ServiceModule>;
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

/** gRPC health checks stay reachable without a token, as load balancers expect. */
const unauthenticatedServices = new Set(["grpc.health.v1.Health"]);

/**
 * Starts the reference server: every module's gRPC, gRPC-Web and Connect services plus
 * REST, on every listen address, HTTP/1.1 and HTTP/2 on each.
 *
 * @throws {Error} when an address cannot be listened on, or an option is invalid.
 */
export async function startServer(options: ServerOptions = {}): Promise<BatonServer> {
  const readMaxBytes = options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_MESSAGE_BYTES;
  if (!Number.isSafeInteger(readMaxBytes) || readMaxBytes < 1 || readMaxBytes > 0xffffffff)
    throw new Error(`maxReceiveMessageBytes must be an integer from 1 to 4294967295, got ${readMaxBytes}`);
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  if (!Number.isSafeInteger(shutdownTimeoutMs) || shutdownTimeoutMs < 0)
    throw new Error(`shutdownTimeoutMs must be an integer >= 0, got ${shutdownTimeoutMs}`);
  const logger = options.logger ?? silentLogger;
  const settings = new Map(Object.entries(options.settings ?? {}));
  const clock = options.clock ?? systemClock;
  const gate = new ShutdownGate();
  const ctx = { logger, options: { token: options.token, settings }, clock, shutdownSignal: gate.signal };
  const modules = (options.modules ?? defaultModules).map((factory) => factory(ctx));

  const interceptors: Interceptor[] = [gate.interceptor(), errorBoundary(logger)];
  if (options.token !== undefined) {
    interceptors.push(bearerAuthInterceptor(options.token, (s) => unauthenticatedServices.has(s)));
  }
  const rest = modules.filter((m) => m.handleHttp);
  const connectHandler = connectNodeAdapter({
    routes: (router: ConnectRouter) => {
      for (const m of modules) m.routes?.(router);
    },
    interceptors,
    readMaxBytes,
    shutdownSignal: gate.signal,
    fallback: (req, res) => {
      void (async () => {
        if (gate.draining) return refuseWhileDraining(res as AnyResponse);
        for (const m of rest) if (await m.handleHttp?.(req as AnyRequest, res as AnyResponse)) return;
        res.writeHead(404, { "content-type": "application/problem+json" });
        res.end(
          JSON.stringify({
            type: "about:blank",
            title: "Not Found",
            status: 404,
            detail: `no route for ${req.method} ${req.url}`,
          }),
        );
      })().catch((err: unknown) => {
        logger.error("request failed", { error: String(err) });
        if (!res.headersSent) res.writeHead(500, { "content-type": "application/problem+json" });
        res.end(JSON.stringify({ type: "about:blank", title: "Internal Server Error", status: 500 }));
      });
    },
  }) as Handler;
  const handler = gate.track(connectHandler);

  const listeners: Listener[] = [];
  try {
    for (const spec of options.listen ?? ["127.0.0.1:50051"]) listeners.push(await listen(spec, handler, options.tls));
    const started = { addresses: listeners.map((l) => l.address) };
    for (const m of modules) await m.start?.(started);
  } catch (err) {
    await Promise.all(listeners.map((l) => l.close()));
    for (const m of modules) await m.close?.();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    addresses: listeners.map((l) => l.address),
    modules: new Map(modules.map((m) => [m.name, m])),
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
