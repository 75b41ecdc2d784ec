import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import type { Interceptor, Transport } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
  Http2SessionManager,
} from "@connectrpc/connect-node";
import { type ParsedAddress, parseAddress } from "./address.js";
import { InvalidArgumentError, UnavailableError } from "./errors.js";
import { type Logger, silentLogger } from "./logger.js";
import { type RetryOptions, type RetryPolicy, resolveRetryPolicy, retryInterceptor } from "./retry.js";

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
  /** RPC protocol. Default `grpc`. */
  protocol?: Protocol;
  /** HTTP version. Default `2`; `1.1` is allowed for `connect` and `grpc-web`. */
  httpVersion?: "1.1" | "2";
  /** TLS settings; `true` for TLS with the system roots. `https://` addresses imply TLS. */
  tls?: TlsOptions | boolean;
  /** Bearer token, or a provider called for every call. */
  token?: string | TokenProvider;
  /** Default deadline of every call in ms (a call's own `timeoutMs` wins). 0 or unset: none. */
  timeoutMs?: number;
  /** Retry policy for transient failures; `false` switches retries off. */
  retry?: RetryOptions | false;
  /** Headers sent with every call. */
  headers?: Record<string, string>;
  /** Extra connect-es interceptors, run inside auth and retries. */
  interceptors?: Interceptor[];
  /** Where Baton logs retries and reconnects. Default: nowhere. */
  logger?: Logger;
  /** How long establishing a connection may take, in ms. Default 10000. */
  dialTimeoutMs?: number;
  /** Largest message the client sends, in bytes. Default unlimited. */
  maxSendMessageBytes?: number;
  /** Largest message the client accepts, in bytes. Default 4 MiB. */
  maxReceiveMessageBytes?: number;
  /** Use the JSON format instead of binary, for `connect` and `grpc-web`. Default false. */
  useJson?: boolean;
}

/**
 * A connection to one server: the transport every client call goes through. A connection
 * is expensive (it holds sockets), a client is cheap: share one connection between clients
 * and {@link Connection.close} it when done.
 */
export class Connection {
  /** The connect-es transport, for use with `createClient` from `@connectrpc/connect`. */
  readonly transport: Transport;
  /** The parsed address. */
  readonly address: ParsedAddress;
  /** The resolved retry policy. */
  readonly retryPolicy: RetryPolicy;
  /** The logger. */
  readonly logger: Logger;
  /** The options the connection was made with. */
  readonly options: Readonly<ConnectionOptions>;
  readonly #sessions: Http2SessionManager | undefined;
  readonly #agent: http.Agent | undefined;
  #closed = false;

  /**
   * @throws {InvalidArgumentError} on an unusable address or option combination.
   */
  constructor(options: ConnectionOptions) {
    this.options = options;
    const protocol = options.protocol ?? "grpc";
    if (!["grpc", "connect", "grpc-web"].includes(protocol)) {
      throw new InvalidArgumentError(`unknown protocol ${String(protocol)}: use grpc, connect or grpc-web`);
    }
    const httpVersion = options.httpVersion ?? "2";
    if (httpVersion !== "2" && httpVersion !== "1.1") {
      throw new InvalidArgumentError(`unknown httpVersion ${String(httpVersion)}: use "2" or "1.1"`);
    }
    if (protocol === "grpc" && httpVersion !== "2") {
      throw new InvalidArgumentError("the gRPC protocol needs HTTP/2; use connect or grpc-web for HTTP/1.1");
    }
    const tlsOpts = typeof options.tls === "object" ? options.tls : undefined;
    const address = parseAddress(options.address, options.tls ? { secure: true } : {});
    if (tlsOpts && !address.secure) {
      throw new InvalidArgumentError(`TLS options were given but the address ${options.address} is http://`);
    }
    this.address = address;
    this.retryPolicy = resolveRetryPolicy(options.retry);
    this.logger = options.logger ?? silentLogger;
    const dial = dialer(address, tlsOpts, options.dialTimeoutMs ?? 10_000);

    const interceptors: Interceptor[] = [
      retryInterceptor(this.retryPolicy, this.logger),
      ...(options.interceptors ?? []),
      headersInterceptor(options.headers ?? {}),
    ];
    if (options.token !== undefined) interceptors.push(bearerInterceptor(options.token));

    const common = {
      baseUrl: address.baseUrl,
      interceptors,
      ...(options.timeoutMs ? { defaultTimeoutMs: options.timeoutMs } : {}),
      ...(options.maxSendMessageBytes ? { writeMaxBytes: options.maxSendMessageBytes } : {}),
      readMaxBytes: options.maxReceiveMessageBytes ?? 4 * 1024 * 1024,
    };
    if (httpVersion === "2") {
      const sessionOptions: http2SessionOptions = { createConnection: () => dial(["h2"]) };
      this.#sessions = new Http2SessionManager(address.baseUrl, { idleConnectionTimeoutMs: 60_000 }, sessionOptions);
      const h2 = { ...common, httpVersion: "2" as const, sessionManager: this.#sessions };
      this.transport =
        protocol === "grpc"
          ? createGrpcTransport(h2)
          : protocol === "connect"
            ? createConnectTransport({ ...h2, useBinaryFormat: !options.useJson })
            : createGrpcWebTransport({ ...h2, useBinaryFormat: !options.useJson });
    } else {
      const agent = address.secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
      // Route every socket through our dialer (Unix sockets, TLS settings, dial timeout).
      (agent as unknown as { createConnection: () => Duplex }).createConnection = () => dial(["http/1.1"]);
      this.#agent = agent;
      const h1 = { ...common, httpVersion: "1.1" as const, nodeOptions: { agent } };
      this.transport =
        protocol === "connect"
          ? createConnectTransport({ ...h1, useBinaryFormat: !options.useJson })
          : createGrpcWebTransport({ ...h1, useBinaryFormat: !options.useJson });
    }
  }

  /** Whether {@link Connection.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the connection's sockets; calls in flight fail with CANCELED. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sessions?.abort();
    this.#agent?.destroy();
  }
}

type http2SessionOptions = NonNullable<ConstructorParameters<typeof Http2SessionManager>[2]>;

/** Opens sockets to the address: TCP or Unix, plain or TLS, failing after `timeoutMs`. */
function dialer(address: ParsedAddress, tlsOpts: TlsOptions | undefined, timeoutMs: number) {
  return (alpn: string[]): Duplex => {
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
    if (timeoutMs > 0) {
      const where = address.socketPath ?? `${address.host}:${address.port ?? ""}`;
      const timer = setTimeout(() => {
        socket.destroy(new UnavailableError(`could not connect to ${where} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      socket.once(address.secure ? "secureConnect" : "connect", () => clearTimeout(timer));
      socket.once("close", () => clearTimeout(timer));
    }
    return socket;
  };
}

function headersInterceptor(headers: Record<string, string>): Interceptor {
  const entries = Object.entries(headers);
  return (next) => (req) => {
    for (const [k, v] of entries) if (!req.header.has(k)) req.header.set(k, v);
    return next(req);
  };
}

/** Sets `authorization: Bearer <token>` on every call, asking the provider each time. */
export function bearerInterceptor(token: string | TokenProvider): Interceptor {
  return (next) => async (req) => {
    const value = typeof token === "string" ? token : await token();
    if (value) req.header.set("authorization", `Bearer ${value}`);
    return next(req);
  };
}
