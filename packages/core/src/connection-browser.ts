import { Code, ConnectError, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { BatonClientBase, type ClientDefaults, type ResolvedConnection } from "./call.js";
import type { ConnectionOptions, FetchLike } from "./connection.js";
import { ConnectionBase, resolveClientConnection } from "./connection-base.js";
import { InvalidArgumentError } from "./errors.js";

/**
 * How to reach a server from a browser: {@link ConnectionOptions} without what only Node
 * can do. The browser build speaks Connect and gRPC-Web over the page's `fetch`; the
 * browser picks the HTTP version and checks certificates against its own roots.
 *
 * Node-only, refused with `InvalidArgumentError` if given anyway: `unix://` addresses,
 * the `grpc` protocol (HTTP/2 trailers, which `fetch` cannot read), `tls` settings
 * (custom CAs, client certificates for mutual TLS, the server name to verify),
 * `httpVersion`, `dialTimeoutMs`, `maxSendMessageBytes`, `maxReceiveMessageBytes`,
 * `grpcTransport` and `http1Transport`.
 */
export interface BrowserConnectionOptions
  extends Omit<
    ConnectionOptions,
    | "protocol"
    | "httpVersion"
    | "tls"
    | "dialTimeoutMs"
    | "maxSendMessageBytes"
    | "maxReceiveMessageBytes"
    | "grpcTransport"
    | "http1Transport"
  > {
  /** `http://host:port` or `https://host:port` (`host:port` is `http://`). Unix sockets are Node-only. */
  address: string;
  /** RPC protocol: `grpc-web` (default) or `connect`. Plain `grpc` is Node-only. Not used by REST clients. */
  protocol?: "connect" | "grpc-web";
  /** `true` for `https://` with the browser's own trust store (as an `https://` address does). */
  tls?: boolean;
}

/** Each Node-only option, and why a browser cannot honour it. */
const NODE_ONLY: ReadonlyArray<readonly [keyof ConnectionOptions, string]> = [
  ["httpVersion", "the browser picks the HTTP version"],
  ["dialTimeoutMs", "the browser dials; use timeoutMs for a deadline"],
  ["maxSendMessageBytes", "connect-web has no send limit"],
  ["maxReceiveMessageBytes", "connect-web has no receive limit"],
  ["grpcTransport", "it picks how gRPC goes over node:http2"],
  ["http1Transport", "it picks how Connect and gRPC-Web go over node's HTTP/1.1 sockets"],
];

/**
 * A connection to one server from a browser (the `browser` build of `@baton/core`):
 * Connect or gRPC-Web over `fetch`, with the same auth, headers, retries, deadlines and
 * stream idle timeout as the Node build. The server must allow the page's origin (CORS;
 * `baton-server --cors-origin`). {@link Connection.close} aborts the calls in flight.
 */
export class Connection extends ConnectionBase {
  readonly #protocol: "connect" | "grpc-web";
  readonly #abort = new AbortController();

  /**
   * @param options how to reach the server.
   * @param _defaults the Node build's client defaults (an HTTP version); unused here.
   * @throws {InvalidArgumentError} on an unusable address, or a Node-only option.
   */
  constructor(options: BrowserConnectionOptions, _defaults: { httpVersion?: "1.1" | "2" } = {}) {
    const given = options as ConnectionOptions;
    const protocol = given.protocol ?? "grpc-web";
    if (protocol === "grpc") {
      throw new InvalidArgumentError(
        "the grpc protocol needs HTTP/2 trailers, which browsers do not expose: use grpc-web or connect (grpc is Node-only)",
      );
    }
    if (protocol !== "connect" && protocol !== "grpc-web") {
      throw new InvalidArgumentError(`unknown protocol ${String(protocol)}: use connect or grpc-web`);
    }
    if (typeof given.tls === "object") {
      throw new InvalidArgumentError(
        "tls settings (ca, cert/key for mutual TLS, serverName, rejectUnauthorized) are Node-only: the browser checks certificates itself; use an https:// address",
      );
    }
    for (const [key, why] of NODE_ONLY) {
      if (given[key] !== undefined) throw new InvalidArgumentError(`${key} is Node-only: ${why}`);
    }
    super(given);
    if (this.address.socketPath !== undefined) {
      throw new InvalidArgumentError(
        `${options.address} is a Unix socket, which only Node can dial: use an http(s):// address`,
      );
    }
    this.#protocol = protocol;
  }

  protected override createTransport(interceptors: Interceptor[]): Transport {
    const options = {
      baseUrl: this.address.baseUrl,
      interceptors,
      useBinaryFormat: !this.options.useJson,
      fetch: this.#rpcFetch,
    };
    return halfDuplexOnly(
      this.#protocol === "connect" ? createConnectTransport(options) : createGrpcWebTransport(options),
    );
  }

  /** The page's `fetch`, for REST clients; auth, retries and deadlines are the REST client's own. */
  protected override createFetch(): FetchLike {
    return (request) => this.#fetchUntilClosed(request);
  }

  /** Aborts the requests in flight: their calls fail with CANCELED. */
  protected override release(): void {
    this.#abort.abort(new DOMException("the connection was closed", "AbortError"));
  }

  /**
   * {@link Connection.#fetchUntilClosed} for RPCs: a request that never got an answer (the
   * server is down, or the browser blocked it for CORS: `fetch` cannot tell which) fails
   * with UNAVAILABLE, as a refused connection does in Node, so it is retried as one.
   */
  readonly #rpcFetch = async (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    try {
      return await this.#fetchUntilClosed(input, init);
    } catch (err) {
      if (init?.signal?.aborted || this.#abort.signal.aborted || !(err instanceof TypeError)) throw err;
      throw new ConnectError(
        `could not reach ${this.address.baseUrl}: ${err.message} (is it up, and does it allow this page's origin? baton-server --cors-origin)`,
        Code.Unavailable,
        undefined,
        undefined,
        err,
      );
    }
  };

  /** `fetch`, aborted by the request's own signal or by {@link Connection.close}. */
  readonly #fetchUntilClosed = (input: Request | string | URL, init?: RequestInit): Promise<Response> => {
    const own = init?.signal ?? (input instanceof Request ? input.signal : undefined);
    const signal = own ? AbortSignal.any([own, this.#abort.signal]) : this.#abort.signal;
    return globalThis.fetch(input, { ...init, signal });
  };
}

/**
 * `inner`, refusing client-streaming and bidirectional calls with UNIMPLEMENTED before any
 * request: they need a request body that streams while the response does, which `fetch`
 * in browsers cannot send.
 */
function halfDuplexOnly(inner: Transport): Transport {
  return {
    unary: (...args) => inner.unary(...args),
    stream(method, ...rest) {
      if (method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming") {
        const kind = method.methodKind === "bidi_streaming" ? "bidirectional" : "client-streaming";
        return Promise.reject(
          new ConnectError(
            `${method.parent.typeName}/${method.name} is a ${kind} call, which browsers cannot make (fetch has no streaming request body): call it from Node`,
            Code.Unimplemented,
          ),
        );
      }
      return inner.stream(method, ...rest);
    },
  };
}

/**
 * Options of every Baton client in a browser: the {@link BrowserConnectionOptions} (each
 * optional: the client fills in its default address), or a `connection` to share.
 */
export interface ClientOptions extends Partial<BrowserConnectionOptions> {
  /** A connection to share; the client does not close it. */
  connection?: Connection;
}

/** Resolves client options to a browser connection, and whether the client owns (and closes) it. */
export function resolveConnection(options: ClientOptions, defaults?: ClientDefaults): ResolvedConnection<Connection> {
  return resolveClientConnection(Connection, options, defaults);
}

/**
 * The base of every Baton client in a browser: it owns (or shares) one {@link Connection},
 * and closes it with {@link BatonClientBase.close} or `await using`.
 */
export abstract class BatonClient extends BatonClientBase<Connection> {
  /** @throws {InvalidArgumentError} on an unusable address or a Node-only option. */
  protected constructor(options: ClientOptions, defaults: ClientDefaults) {
    super(resolveConnection(options, defaults));
  }
}
