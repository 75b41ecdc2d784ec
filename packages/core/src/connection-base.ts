import {
  Code,
  ConnectError,
  type ContextValues,
  createContextKey,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import { type ParsedAddress, parseAddress } from "./address.js";
import type { ClientDefaults, ResolvedConnection } from "./call.js";
// Types only: connection.ts is the Node build's, and nothing of it is loaded at run time here.
import type { ConnectionOptions, FetchLike, TokenProvider } from "./connection.js";
import { checkTimeout } from "./deadline.js";
import { InvalidArgumentError } from "./errors.js";
import { type Exchange, exchangeOverFetch } from "./exchange.js";
import { IdleTimer } from "./idle-timer.js";
import { type Logger, silentLogger } from "./logger.js";
import { type ResumableStreamOptions, resumableStream } from "./resumable-stream.js";
import { type RetryPolicy, resolveRetryPolicy, retryInterceptor } from "./retry.js";

/**
 * Per-call stream idle timeout, carried to the transport in the call's context values
 * (`CallOptions.idleTimeoutMs` sets it).
 */
export const idleTimeoutKey = createContextKey<number | undefined>(undefined, {
  description: "baton stream idle timeout",
});

/**
 * What the Node and the browser `Connection` share: the parsed address, the retry policy,
 * the interceptors (retries, headers, auth), the unary deadline and the stream idle
 * timeout, `close` and `resumable`. Each build's `Connection` supplies the transport and
 * the `fetch` of its platform. Not made directly: use `Connection`.
 */
export abstract class ConnectionBase {
  /** The parsed address. */
  readonly address: ParsedAddress;
  /** The resolved retry policy. */
  readonly retryPolicy: RetryPolicy;
  /** The logger. */
  readonly logger: Logger;
  /** The options the connection was made with. */
  readonly options: Readonly<ConnectionOptions>;
  #transport: Transport | undefined;
  #fetch: FetchLike | undefined;
  #exchange: Exchange | undefined;
  #closed = false;

  /**
   * Checks what both platforms check (the timeouts, TLS options against the address) and
   * parses the address.
   * @throws {InvalidArgumentError} on an unusable address or option.
   */
  protected constructor(options: ConnectionOptions) {
    this.options = options;
    for (const k of ["timeoutMs", "idleTimeoutMs", "dialTimeoutMs"] as const) checkTimeout(k, options[k]);
    const address = parseAddress(options.address, options.tls ? { secure: true } : {});
    if (typeof options.tls === "object" && !address.secure) {
      throw new InvalidArgumentError(`TLS options were given but the address ${options.address} is http://`);
    }
    this.address = address;
    this.retryPolicy = resolveRetryPolicy(options.retry);
    this.logger = options.logger ?? silentLogger;
  }

  /**
   * The connect-es transport, for use with `createClient` from `@connectrpc/connect`: auth,
   * headers, retries, the unary deadline and the stream idle timeout are applied here.
   * Made on first use.
   */
  get transport(): Transport {
    if (!this.#transport) {
      const options = this.options;
      const interceptors: Interceptor[] = [
        retryInterceptor(this.retryPolicy, this.logger),
        ...(options.interceptors ?? []),
        headersInterceptor(options.headers ?? {}),
      ];
      if (options.token !== undefined) interceptors.push(bearerInterceptor(options.token));
      this.#transport = deadlineTransport(this.createTransport(interceptors), options.timeoutMs, options.idleTimeoutMs);
    }
    return this.#transport;
  }

  /** A `fetch` for REST clients; auth, retries and deadlines are the REST client's own. Made on first use. */
  get fetch(): FetchLike {
    this.#fetch ??= this.createFetch();
    return this.#fetch;
  }

  /**
   * One request with its body in memory and its whole response, for REST clients' JSON
   * calls: over Node's HTTP/1.1 pool directly (no web `Request`/`Response`, no stream per
   * body), elsewhere over {@link ConnectionBase.fetch}. Made on first use.
   */
  get exchange(): Exchange {
    this.#exchange ??= this.createExchange();
    return this.#exchange;
  }

  /** Whether {@link ConnectionBase.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the connection; calls in flight fail with CANCELED. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.release();
  }

  /**
   * {@link resumableStream} with this connection's retry backoff and logger, so every
   * client's streams resume the same way.
   */
  resumable<T, C>(options: ResumableStreamOptions<T, C>): AsyncIterable<T> {
    return resumableStream({
      backoff: {
        initialBackoffMs: Math.min(50, this.retryPolicy.initialBackoffMs),
        maxBackoffMs: this.retryPolicy.maxBackoffMs,
        multiplier: this.retryPolicy.multiplier,
        jitter: this.retryPolicy.jitter,
      },
      logger: this.logger,
      ...options,
    });
  }

  /** `await using conn = new Connection(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * The platform's transport for the connection's protocol, running `interceptors` (the
   * first outermost); the deadlines are added around it.
   */
  protected abstract createTransport(interceptors: Interceptor[]): Transport;

  /** The platform's `fetch` to the connection's address. */
  protected abstract createFetch(): FetchLike;

  /** The platform's {@link ConnectionBase.exchange}; by default over its `fetch`. */
  protected createExchange(): Exchange {
    return exchangeOverFetch((request) => this.fetch(request));
  }

  /** Releases what the platform holds (sockets, in-flight requests); called once, by `close`. */
  protected abstract release(): void | Promise<void>;
}

/**
 * The address a client dials: `options.address`, else the environment variable, else the
 * documented default.
 */
export function clientAddress(
  options: { address?: string | undefined },
  defaults: ClientDefaults,
  env: Record<string, string | undefined> = processEnv(),
): string {
  if (options.address) return options.address;
  const fromEnv = defaults.env === undefined ? undefined : env[defaults.env];
  if (fromEnv) return defaults.fromEnv ? defaults.fromEnv(fromEnv) : fromEnv;
  return defaults.address;
}

/** The environment variables of the process; none in a browser, which has no `process`. */
function processEnv(): Record<string, string | undefined> {
  return typeof process === "undefined" ? {} : process.env;
}

/**
 * Resolves a client's options to a connection, and whether the client owns (and closes)
 * it: the shared `connection` if given, else a new `Conn` at the {@link clientAddress},
 * with the client kind's connection defaults. The Node and the browser build's
 * `resolveConnection` and `BatonClient` are this over their own `Connection`.
 *
 * @param Conn the build's connection class.
 * @param options the client's options.
 * @param defaults where the client finds its server; by default `127.0.0.1:50051`.
 */
export function resolveClientConnection<C extends ConnectionBase, O extends ConnectionOptions>(
  Conn: new (options: O, defaults: { httpVersion?: "1.1" | "2" }) => C,
  options: Partial<O> & { connection?: C | undefined },
  defaults: ClientDefaults = { address: "127.0.0.1:50051" },
): ResolvedConnection<C> {
  const { connection, ...rest } = options;
  if (connection) return { connection, owned: false };
  return {
    connection: new Conn({ ...rest, address: clientAddress(rest, defaults) } as O, defaults.connection ?? {}),
    owned: true,
  };
}

/**
 * A transport whose default deadline applies to unary calls only, and whose streams fail
 * with DEADLINE_EXCEEDED after `idleTimeoutMs` without a message (a call's own values win).
 */
function deadlineTransport(
  inner: Transport,
  timeoutMs: number | undefined,
  idleTimeoutMs: number | undefined,
): Transport {
  return {
    unary(method, signal, callTimeoutMs, header, input, contextValues) {
      const bad = badTimeout("timeoutMs", callTimeoutMs);
      if (bad) return Promise.reject(bad);
      return inner.unary(method, signal, callTimeoutMs ?? timeoutMs, header, input, contextValues);
    },
    async stream(method, signal, callTimeoutMs, header, input, contextValues) {
      const bad = badTimeout("timeoutMs", callTimeoutMs) ?? badTimeout("idleTimeoutMs", idleOf(contextValues));
      if (bad) throw bad;
      const idle = idleOf(contextValues) ?? idleTimeoutMs;
      if (!idle) return inner.stream(method, signal, callTimeoutMs, header, input, contextValues);
      // Armed while waiting for the response headers and for each message (not while the caller reads).
      const timer = new IdleTimer(
        idle,
        (ms) => new ConnectError(`the stream sent nothing for ${ms} ms`, Code.DeadlineExceeded),
      );
      const streamSignal = signal ? AbortSignal.any([signal, timer.signal]) : timer.signal;
      const res = await timer.during(() =>
        inner.stream(method, streamSignal, callTimeoutMs, header, input, contextValues),
      );
      return { ...res, message: timer.watch(res.message) as typeof res.message };
    },
  };
}

/**
 * A call's own timeout that {@link checkTimeout} refuses, as the INVALID_ARGUMENT the call
 * fails with (a Node timer would fire after 1 ms instead of waiting that long).
 */
function badTimeout(name: string, value: number | undefined): ConnectError | undefined {
  try {
    checkTimeout(name, value);
    return undefined;
  } catch (err) {
    return new ConnectError((err as Error).message, Code.InvalidArgument);
  }
}

function idleOf(contextValues: ContextValues | undefined): number | undefined {
  return contextValues?.get(idleTimeoutKey);
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
