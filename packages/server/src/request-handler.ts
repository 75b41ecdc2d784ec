import * as http2 from "node:http2";
import type { Readable } from "node:stream";
import type { Logger } from "@baton/core";
import type { DescMessage } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ConnectRouterOptions,
  createConnectRouter,
  type Interceptor,
} from "@connectrpc/connect";
import type { Compression, UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest } from "@connectrpc/connect-node";
import { type ConnectionLimits, MAX_DRAIN_BYTES, MAX_HEADER_BYTES } from "./connection-limits.js";
import {
  type BodyDeadline,
  decodeMessage,
  end,
  errorFromResetCode,
  type FastCall,
  type FastRoutes,
  fastHeaders,
  invalidFlags,
  nodeHeaders,
  type RpcPathCounts,
  recordingRouter,
  StreamWriter,
  serveFast,
  signalDeadline,
  takesFastPath,
  truncatedEnvelope,
  type Writer,
  write,
} from "./grpc-fast-path.js";
import type { Handler, StreamHandler } from "./listen.js";
import type { AnyRequest, AnyResponse } from "./module.js";
import { refuse, type WireProtocol, wireProtocolOf } from "./refusal.js";

/** Options of {@link createRequestHandler}. */
export interface RequestHandlerOptions {
  /** Registers every module's services. */
  routes(router: ConnectRouter): void;
  /** Interceptors of every RPC. */
  interceptors: Interceptor[];
  /** Largest request message accepted, in bytes. */
  readMaxBytes: number;
  /** Largest response message sent, in bytes. */
  writeMaxBytes: number;
  /** Timeouts and buffer bounds. */
  limits: ConnectionLimits;
  /** Serves a REST request; resolves false when no module has the route. */
  rest(req: AnyRequest, res: AnyResponse): Promise<boolean>;
  /** Where failures are logged. */
  logger: Logger;
  /**
   * Aborted when the server's drain period is over: the RPC handlers' `ctx.signal` follows
   * it (connect-es `shutdownSignal`).
   */
  shutdownSignal?: AbortSignal;
}

/** Counters of the requests in flight, for tests and operators. */
export interface RequestStats {
  /** Requests whose response has not closed yet (open streams included). */
  readonly requests: number;
  /** Bytes written to those responses that their clients have not read yet. */
  readonly bufferedBytes: number;
  /** How many RPCs the gRPC fast path and connect's router have served since the start. */
  readonly rpcPaths: RpcPathCounts;
}

/** The request handler of the server and its counters. */
export interface RequestHandler {
  /** Serves one request of either HTTP version. */
  readonly handler: Handler;
  /**
   * Serves an HTTP/2 stream straight from the session when it is a fast-path gRPC call
   * (see {@link StreamHandler}): no compat request and response objects, the request
   * timeout on a shared sweep instead of a timer per call. Returns false for every other
   * stream, which {@link handler} then serves.
   */
  readonly streams: StreamHandler;
  /** The requests in flight now. */
  stats(): RequestStats;
  /** Stops the watchdog timers. */
  close(): void;
}

const compressions: Compression[] = [compressionGzip, compressionBrotli];

/**
 * The server's request handler: Connect's router for gRPC, gRPC-Web and Connect (with the
 * limits below), the modules' REST routes, and the refusals in each protocol's own terms.
 *
 * On top of connect-node it: refuses headers over {@link MAX_HEADER_BYTES} with 431 (or
 * RESOURCE_EXHAUSTED); answers unknown RPCs UNIMPLEMENTED; checks uncompressed and compressed
 * protobuf request messages (and Connect GET's base64) first so undecodable ones are
 * INVALID_ARGUMENT, not INTERNAL; fails a request body that is not complete within
 * `requestTimeoutMs`; after a response that went out before its request was read in full,
 * drains or closes the HTTP/1.1 connection and resets the HTTP/2 stream (NO_ERROR) so the
 * client stops uploading; and cuts responses whose client stops reading (see
 * {@link ConnectionLimits.maxStreamBufferBytes}).
 */
export function createRequestHandler(options: RequestHandlerOptions): RequestHandler {
  const routerOptions: ConnectRouterOptions = {
    interceptors: options.interceptors,
    readMaxBytes: options.readMaxBytes,
    writeMaxBytes: options.writeMaxBytes,
    acceptCompression: compressions,
    ...(options.shutdownSignal ? { shutdownSignal: options.shutdownSignal } : {}),
  };
  const router = createConnectRouter(routerOptions);
  const fastRoutes: FastRoutes = new Map();
  options.routes(recordingRouter(router, fastRoutes));
  const fastOptions = {
    interceptors: options.interceptors,
    readMaxBytes: options.readMaxBytes,
    writeMaxBytes: options.writeMaxBytes,
    compressions,
    ...(options.shutdownSignal ? { shutdownSignal: options.shutdownSignal } : {}),
  };
  const rpcPaths = { fast: 0, connect: 0 };
  const paths = new Map<string, UniversalHandler>();
  for (const h of router.handlers) paths.set(h.requestPath, h);
  const { limits, logger } = options;

  const active = new Set<InFlight>();
  const sweepMs = Math.max(10, Math.min(1000, Math.floor(limits.streamStallTimeoutMs / 4)));
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const f of active) {
      const buffered = bufferedBytesOf(f);
      const delivered = f.written - buffered;
      const highWaterMark = f.raw ? f.raw.writableHighWaterMark : (f.res as AnyResponse).writableHighWaterMark;
      // Stalled: above the high-water mark with nothing delivered since the last look.
      if (buffered < highWaterMark || delivered !== f.delivered) {
        f.stalledSince = undefined;
        f.delivered = delivered;
      } else f.stalledSince ??= now;
      const stalledFor = f.stalledSince === undefined ? 0 : now - f.stalledSince;
      if (buffered > limits.maxStreamBufferBytes || stalledFor >= limits.streamStallTimeoutMs) {
        logger.warn("response cut: client not reading", { url: f.url, buffered });
        cut(f);
      }
    }
  }, sweepMs);
  sweep.unref();

  // Request bodies of the streams served straight from the session, with when they are due:
  // one interval sweeps them (started while there are any), instead of a timer per call.
  const bodies = new Set<PendingBody>();
  const bodyTickMs = Math.max(5, Math.min(1000, Math.floor(limits.requestTimeoutMs / 8)));
  let bodySweep: NodeJS.Timeout | undefined;
  const sweepBodies = () => {
    const now = Date.now();
    for (const body of bodies) {
      if (body.at > now) continue;
      bodies.delete(body);
      body.fail(
        new ConnectError(
          `the request body was not complete within ${limits.requestTimeoutMs} ms`,
          Code.DeadlineExceeded,
        ),
      );
    }
    if (bodies.size === 0 && bodySweep !== undefined) {
      clearInterval(bodySweep);
      bodySweep = undefined;
    }
  };
  const bodyDeadline: BodyDeadline = (fail) => {
    const body: PendingBody = { at: Date.now() + limits.requestTimeoutMs, fail };
    bodies.add(body);
    if (bodySweep === undefined) {
      bodySweep = setInterval(sweepBodies, bodyTickMs);
      bodySweep.unref();
    }
    return () => bodies.delete(body);
  };

  const streams: StreamHandler = (stream, headers, rawHeaders, secure) => {
    if (headers[":method"] !== "POST" || headers.expect !== undefined) return false;
    const url = headers[":path"] ?? "";
    const q = url.indexOf("?");
    const fast = fastRoutes.get(q < 0 ? url : url.slice(0, q));
    if (fast === undefined) return false;
    const protocol = fastHeaders(headers);
    if (protocol === undefined || headerBytes(rawHeaders) > MAX_HEADER_BYTES) return false;
    rpcPaths.fast++;
    const flight: InFlight = {
      req: undefined,
      res: undefined,
      raw: stream,
      url,
      written: 0,
      delivered: 0,
      stalledSince: undefined,
    };
    active.add(flight);
    // Compat ignores stream errors (the call sees the close); so does this.
    stream.on("error", ignoreError);
    stream.once("close", () => active.delete(flight));
    const call: FastCall = {
      protocol,
      headers,
      url: `${secure ? "https" : "http"}://${headers[":authority"] ?? headers.host ?? ""}${url}`,
      closes: stream,
      closeReason: () => errorFromResetCode(stream.rstCode),
      body: stream,
      out: new StreamWriter(stream, flight, protocol === "grpc"),
      deadline: bodyDeadline,
    };
    void serveFast(fast, call, fastOptions).catch((err: unknown) => {
      logger.error("rpc failed", { method: fast.method.name, error: String(err) });
      stream.destroy();
    });
    return true;
  };

  const handler: Handler = (req, res) => {
    const flight: InFlight = {
      req,
      res,
      raw: undefined,
      url: req.url,
      written: 0,
      delivered: 0,
      stalledSince: undefined,
    };
    countWrites(res, flight);
    active.add(flight);
    res.once("close", () => active.delete(flight));
    const path = req.url?.split("?", 2)[0] ?? "";
    const route = paths.get(path);
    const kind = route?.method.methodKind;
    const timed = kind === undefined || kind === "unary" || kind === "server_streaming";
    const deadline = guardConnection(req, res, timed ? limits.requestTimeoutMs : undefined);
    const protocol = wireProtocolOf(req.method, req.headers["content-type"], req.url ?? "/");

    if ("stream" in req && headerBytes(req.rawHeaders) > MAX_HEADER_BYTES) {
      refuse(req, res, {
        code: Code.ResourceExhausted,
        status: 431,
        title: "Request Header Fields Too Large",
        detail: `the request's URL and headers exceed ${MAX_HEADER_BYTES} bytes`,
      });
      return;
    }
    if (route && kind === "bidi_streaming" && !("stream" in req)) {
      // Connect answers a bare 505 with no status; say it in the request's protocol.
      refuse(req, res, {
        code: Code.Unimplemented,
        status: 505,
        title: "HTTP Version Not Supported",
        detail: `${route.service.typeName}.${route.method.name} is a bidirectional stream: call it over HTTP/2`,
      });
      return;
    }
    const fast = route && fastRoutes.get(path);
    const fastProtocol = fast && takesFastPath(req);
    if (fast && fastProtocol) {
      rpcPaths.fast++;
      const scheme = "encrypted" in req.socket && req.socket.encrypted ? "https" : "http";
      const h2 = "stream" in req ? req.stream : undefined;
      const call: FastCall = {
        protocol: fastProtocol,
        headers: req.headers,
        url: `${scheme}://${"stream" in req ? req.authority : (req.headers.host ?? "")}${req.url}`,
        closes: h2 ?? res,
        closeReason: h2 ? () => errorFromResetCode(h2.rstCode) : clientClosed,
        body: req,
        out: res as Writer,
        deadline: signalDeadline(deadline),
      };
      void serveFast(fast, call, fastOptions).catch((err: unknown) => {
        logger.error("rpc failed", { method: fast.method.name, error: String(err) });
        res.destroy();
      });
      return;
    }
    if (route) {
      rpcPaths.connect++;
      serveRpc(route, req, res, deadline, options, protocol).catch((err: unknown) => {
        const code = ConnectError.from(err).code;
        if (code !== Code.Aborted && code !== Code.Canceled)
          logger.error("rpc failed", { method: route.method.name, error: String(err) });
        if (!res.headersSent) refuse(req, res, internal);
        else res.destroy();
      });
      return;
    }
    if (protocol === "grpc" || protocol === "grpc-web") {
      refuse(req, res, unimplemented(path));
      return;
    }
    options.rest(req, res).then(
      (handled) => {
        if (handled) return;
        if (protocol === "connect-unary" || protocol === "connect-stream") refuse(req, res, unimplemented(path));
        else
          refuse(req, res, {
            code: Code.NotFound,
            status: 404,
            title: "Not Found",
            detail: `no route for ${req.method} ${req.url}`,
          });
      },
      (err: unknown) => {
        if (!(req.destroyed || res.destroyed)) logger.error("request failed", { error: String(err) });
        if (!res.headersSent) refuse(req, res, internal);
        else res.end();
      },
    );
  };
  return {
    handler,
    streams,
    stats() {
      let bufferedBytes = 0;
      for (const f of active) bufferedBytes += bufferedBytesOf(f);
      return { requests: active.size, bufferedBytes, rpcPaths: { ...rpcPaths } };
    },
    close() {
      clearInterval(sweep);
      if (bodySweep !== undefined) clearInterval(bodySweep);
      bodySweep = undefined;
    },
  };
}

/** A request body the sweep fails when it is not complete by `at` (ms since the epoch). */
interface PendingBody {
  at: number;
  fail: (reason: unknown) => void;
}

function ignoreError(): void {}

/** Why a handler's signal aborts when its HTTP/1.1 client goes away before the call is over. */
function clientClosed(): ConnectError {
  return new ConnectError("the client closed the connection", Code.Canceled);
}

/** A response in flight: compat's request and response, or a stream served straight from the session. */
interface InFlight {
  req: AnyRequest | undefined;
  res: AnyResponse | undefined;
  raw: http2.ServerHttp2Stream | undefined;
  /** The request's URL (path and query), for the log. */
  url: string | undefined;
  /** Bytes written to the response so far. */
  written: number;
  /** `written` less what was still buffered, at the last look. */
  delivered: number;
  /** Since when the response has been stalled (buffer above its high-water mark, nothing delivered). */
  stalledSince: number | undefined;
}

/** Counts the bytes written to a response into `flight.written`. */
function countWrites(res: AnyResponse, flight: InFlight): void {
  const out = res as unknown as { write: (...args: unknown[]) => boolean; end: (...args: unknown[]) => unknown };
  const size = (chunk: unknown, encoding: unknown) =>
    typeof chunk === "string"
      ? Buffer.byteLength(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8")
      : chunk instanceof Uint8Array
        ? chunk.byteLength
        : 0;
  const write = out.write;
  const end = out.end;
  out.write = function (this: AnyResponse, ...args: unknown[]) {
    flight.written += size(args[0], args[1]);
    return write.apply(this, args);
  };
  out.end = function (this: AnyResponse, ...args: unknown[]) {
    if (typeof args[0] !== "function") flight.written += size(args[0], args[1]);
    return end.apply(this, args);
  };
}

const internal = {
  code: Code.Internal,
  status: 500,
  title: "Internal Server Error",
  detail: "internal error",
};

function unimplemented(path: string) {
  return {
    code: Code.Unimplemented,
    status: 404,
    title: "Not Found",
    detail: `${path} is not implemented`,
  };
}

/** The HTTP/2 header list size of a request as RFC 9113 counts it: name + value + 32 per field. */
function headerBytes(raw: string[]): number {
  let n = 0;
  for (let i = 0; i + 1 < raw.length; i += 2) n += (raw[i]?.length ?? 0) + (raw[i + 1]?.length ?? 0) + 32;
  return n;
}

/** Whether the client has sent its whole request (HTTP/2: END_STREAM seen, read or not). */
function requestComplete(req: AnyRequest): boolean {
  if ("stream" in req) {
    const stream = req.stream;
    return stream.endAfterHeaders || stream.readableEnded || stream.destroyed || stream.state?.remoteClose === 1;
  }
  return req.complete;
}

/** Bytes written to a response that have not reached the client's side of the socket. */
function bufferedBytesOf(f: InFlight): number {
  if (f.raw) return f.raw.destroyed ? 0 : f.raw.bufferSize;
  const res = f.res as AnyResponse;
  if ("stream" in res) return res.stream.destroyed ? 0 : res.stream.bufferSize;
  return res.destroyed ? 0 : res.writableLength;
}

/** Ends a response its client does not read: RST_STREAM ENHANCE_YOUR_CALM (HTTP/2), a closed connection (HTTP/1.1). */
function cut(f: InFlight): void {
  if (f.raw) f.raw.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  else if (f.req && "stream" in f.req) f.req.stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
  else f.res?.destroy();
}

/**
 * Per-request connection care: reading the body never destroys the request when a reader
 * stops early (a refused, over-limit body), so the response still goes out; once it has,
 * an unread rest of the body is drained (HTTP/1.1, up to {@link MAX_DRAIN_BYTES} declared,
 * else `Connection: close`) or the stream reset with NO_ERROR (HTTP/2). With a
 * `timeoutMs`, returns a signal that aborts when the body is not complete in time; a REST
 * request then gets 408 at once.
 */
function guardConnection(req: AnyRequest, res: AnyResponse, timeoutMs: number | undefined): AbortSignal | undefined {
  const readable = req as unknown as Readable;
  readable[Symbol.asyncIterator] = () => readable.iterator({ destroyOnReturn: false });
  if (!("stream" in req)) {
    const declared = Number(req.headers["content-length"] ?? Number.NaN);
    const drainable = Number.isSafeInteger(declared) && declared <= MAX_DRAIN_BYTES;
    // The verdict is due when the headers go out: a response started before the body was
    // read in full (a refusal) tells the client the connection closes, unless the rest is
    // small enough to read and discard.
    const h1 = res as unknown as { writeHead: (...args: unknown[]) => unknown; headersSent: boolean };
    const writeHead = h1.writeHead;
    h1.writeHead = function (this: AnyResponse, ...args: unknown[]) {
      if (!req.complete && !drainable && !this.headersSent) this.setHeader("connection", "close");
      return writeHead.apply(this, args);
    };
  }
  if ("stream" in req) {
    // Once our side has ended (trailers submitted: "wantTrailers" comes after "finish", and
    // a reset before them would lose the status), RST_STREAM NO_ERROR tells the client to
    // stop sending (RFC 9113 §8.1).
    const stream = req.stream;
    const reset = (unlessOpen: boolean) =>
      setImmediate(() => {
        if (stream.destroyed || requestComplete(req)) return;
        // After "finish", only a response that ended with its headers has nothing left to send.
        if (unlessOpen && stream.state?.localClose !== 1) return;
        stream.close(http2.constants.NGHTTP2_NO_ERROR);
      });
    // Trailers are submitted in Node's own "wantTrailers" listener; the reset queues after them.
    stream.once("wantTrailers", () => reset(false));
    stream.once("finish", () => reset(true));
  } else {
    res.once("finish", () => {
      if (!requestComplete(req)) req.resume();
    });
  }
  if (timeoutMs === undefined || requestComplete(req)) return undefined;
  const controller = new AbortController();
  const timer = setTimeout(() => {
    if (requestComplete(req)) return;
    const error = new ConnectError(`the request body was not complete within ${timeoutMs} ms`, Code.DeadlineExceeded);
    controller.abort(error);
    if (wireProtocolOf(req.method, req.headers["content-type"], req.url ?? "/") === "rest") {
      refuse(
        req,
        res,
        { code: Code.DeadlineExceeded, status: 408, title: "Request Timeout", detail: error.rawMessage },
        "stream" in req ? {} : { connection: "close" },
      );
      if (!res.headersSent || !res.writableFinished) res.once("finish", () => res.destroy());
    }
  }, timeoutMs);
  timer.unref();
  res.once("close", () => clearTimeout(timer));
  return controller.signal;
}

/** Serves one RPC through Connect, with the request body checked and timed, and the response written with care. */
async function serveRpc(
  route: UniversalHandler,
  req: AnyRequest,
  res: AnyResponse,
  deadline: AbortSignal | undefined,
  options: RequestHandlerOptions,
  protocol: WireProtocol,
): Promise<void> {
  const input = route.method.input;
  if (protocol === "connect-unary" && req.method === "GET") {
    // Connect answers these two with a bare 405 / 415; say why, in a Connect error.
    const name = `${route.service.typeName}.${route.method.name}`;
    if (route.method.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) {
      const detail = `${name} may have side effects: Connect GET is only for methods marked idempotency_level = NO_SIDE_EFFECTS; use POST`;
      refuse(
        req,
        res,
        { code: Code.Unimplemented, status: 405, title: "Method Not Allowed", detail },
        { allow: "POST" },
      );
      return;
    }
    const encoding = new URLSearchParams(req.url?.split("?", 2)[1] ?? "").get("encoding");
    if (encoding !== "proto" && encoding !== "json") {
      const detail = `unsupported Connect GET encoding ${JSON.stringify(encoding)}: use proto or json`;
      refuse(req, res, { code: Code.Unimplemented, status: 415, title: "Unsupported Media Type", detail });
      return;
    }
    const problem = await checkConnectGet(input, req.url ?? "", options.readMaxBytes);
    if (problem) {
      refuse(req, res, { code: Code.InvalidArgument, status: 400, title: "Bad Request", detail: problem });
      return;
    }
  }
  const uReq = universalRequestFromNodeRequest(req as never, res as never, undefined, undefined);
  const check = messageChecker(input, protocol, req, options.readMaxBytes);
  if (typeof uReq.body === "object" && uReq.body !== null && Symbol.asyncIterator in uReq.body) {
    uReq.body = guardBody(uReq.body as AsyncIterable<Uint8Array>, check, deadline);
  }
  const uRes = await route(uReq);
  await writeResponse(uRes, res);
}

/** What checks the request messages of one RPC as the body streams in. */
interface MessageChecker {
  chunk(chunk: Uint8Array): Promise<void>;
  end(): Promise<void>;
}

function headerValue(req: AnyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A checker for binary (protobuf) request bodies; undefined for JSON ones, which Connect already answers INVALID_ARGUMENT. */
function messageChecker(
  schema: DescMessage,
  protocol: WireProtocol,
  req: AnyRequest,
  maxBytes: number,
): MessageChecker | undefined {
  const type = (headerValue(req, "content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  const binary = type.endsWith("+proto") || type === "application/grpc" || type === "application/grpc-web";
  if (protocol === "connect-unary") {
    if (type !== "application/proto") return undefined;
    const chunks: Uint8Array[] = [];
    let size = 0;
    return {
      async chunk(c) {
        size += c.byteLength;
        if (size <= maxBytes) chunks.push(c);
      },
      async end() {
        if (size > maxBytes) return; // Connect refuses it: RESOURCE_EXHAUSTED
        let bytes: Uint8Array = Buffer.concat(chunks);
        const encoding = headerValue(req, "content-encoding");
        // An empty body is the empty message, whatever its encoding says (as Connect reads it).
        if (encoding !== undefined && encoding !== "identity" && bytes.byteLength > 0)
          bytes = await decompress("content-encoding", encoding, bytes, maxBytes);
        decodeMessage(schema, bytes);
      },
    };
  }
  if (!binary || protocol === "rest") return undefined;
  const encoding = headerValue(req, protocol === "connect-stream" ? "connect-content-encoding" : "grpc-encoding");
  // Envelopes: 1 flag byte (bit 0: compressed; 0x02 Connect end-stream, 0x80 gRPC-Web trailer), 4 length bytes.
  let chunks: Uint8Array[] = [];
  let have = 0;
  let need = 5;
  let flags: number | undefined;
  let gaveUp = false;
  return {
    async chunk(c) {
      if (gaveUp) return;
      chunks.push(c);
      have += c.byteLength;
      while (have >= need) {
        const buf = chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks);
        if (flags === undefined) {
          const length = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).readUInt32BE(1);
          if (length > maxBytes) {
            gaveUp = true; // Connect refuses it: RESOURCE_EXHAUSTED
            return;
          }
          flags = buf[0] as number;
          need = 5 + length;
          chunks = [buf];
          continue;
        }
        // Requests carry messages only: bit 0 (compressed) is the one flag a client may set.
        if ((flags & ~0x01) !== 0) throw invalidFlags(flags);
        let message: Uint8Array = buf.subarray(5, need);
        if (flags & 0x01) {
          const header = protocol === "connect-stream" ? "connect-content-encoding" : "grpc-encoding";
          if (encoding === undefined || encoding === "identity")
            throw new ConnectError(
              `a message is flagged compressed, but the request has no ${header}`,
              Code.InvalidArgument,
            );
          message = await decompress(header, encoding, message, maxBytes);
        }
        decodeMessage(schema, message);
        const rest = buf.subarray(need);
        chunks = rest.byteLength > 0 ? [rest] : [];
        have = rest.byteLength;
        need = 5;
        flags = undefined;
      }
    },
    async end() {
      // The body ended inside an envelope: a truncated message, not a missing one.
      if (!gaveUp && have > 0) throw truncatedEnvelope(have, flags === undefined ? undefined : need);
    },
  };
}

/**
 * Decompresses a request message that `header` says is `encoding`: UNIMPLEMENTED for an
 * encoding the server does not support, INVALID_ARGUMENT for bytes that do not decompress
 * (Connect's own verdict on a stream would be INTERNAL), RESOURCE_EXHAUSTED past the limit.
 */
async function decompress(header: string, encoding: string, bytes: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  const compression = compressions.find((c) => c.name === encoding);
  if (!compression) {
    throw new ConnectError(
      `unsupported ${header} ${JSON.stringify(encoding)}: this server accepts ${compressions.map((c) => c.name).join(", ")}`,
      Code.Unimplemented,
    );
  }
  try {
    return await compression.decompress(bytes, maxBytes);
  } catch (err) {
    const e = ConnectError.from(err);
    if (e.code === Code.ResourceExhausted) throw e;
    throw new ConnectError(`cannot decompress a ${encoding} message: ${e.rawMessage}`, Code.InvalidArgument);
  }
}

/** Checks a Connect GET's `message` (base64 and protobuf); returns what is wrong, if anything. */
async function checkConnectGet(schema: DescMessage, url: string, maxBytes: number): Promise<string | undefined> {
  const query = new URLSearchParams(url.split("?", 2)[1] ?? "");
  const message = query.get("message") ?? "";
  let bytes: Uint8Array | undefined;
  if (query.get("base64") === "1") {
    try {
      bytes = base64Decode(message);
    } catch {
      return "the message query parameter is not valid base64";
    }
  } else bytes = new TextEncoder().encode(message);
  if (query.get("encoding") !== "proto") return undefined;
  const compression = query.get("compression");
  try {
    if (compression !== null && compression !== "identity" && bytes.byteLength > 0)
      bytes = await decompress("compression", compression, bytes, maxBytes);
    decodeMessage(schema, bytes);
  } catch (err) {
    const e = ConnectError.from(err);
    // An unsupported compression or an oversized message: Connect's own answer is right.
    return e.code === Code.InvalidArgument ? e.rawMessage : undefined;
  }
  return undefined;
}

/** The body of a request, checked message by message and failing DEADLINE_EXCEEDED when `deadline` aborts first. */
async function* guardBody(
  source: AsyncIterable<Uint8Array>,
  check: MessageChecker | undefined,
  deadline: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      const next = await beforeAbort(it.next(), deadline);
      if (next.done) {
        done = true;
        await check?.end();
        return;
      }
      await check?.chunk(next.value);
      yield next.value;
    }
  } finally {
    // Never wait here: a read that never settles (a body that never ends) must not hold the call.
    if (!done) void it.return?.()?.catch(() => {});
  }
}

function beforeAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/**
 * Writes Connect's response, waiting for `drain` whenever the socket's buffer is above its
 * high-water mark (so a slow client slows the stream's producer) and giving up when the
 * response closes first (a cut or a gone client), so the producer is released.
 */
async function writeResponse(uRes: UniversalServerResponse, res: AnyResponse): Promise<void> {
  const out = res as Writer;
  const it = uRes.body?.[Symbol.asyncIterator]();
  try {
    if (it) {
      let chunk = await it.next();
      // Headers go out after the first read, so the implementation can still set them.
      if (!out.headersSent) out.writeHead(uRes.status, nodeHeaders(uRes.header ?? new Headers()));
      for (; chunk.done !== true; chunk = await it.next()) {
        const wait = write(out, chunk.value);
        if (wait) await wait;
      }
    }
    if (!out.headersSent) out.writeHead(uRes.status, nodeHeaders(uRes.header ?? new Headers()));
    if (uRes.trailer) out.addTrailers(nodeHeaders(uRes.trailer));
    await end(out);
  } finally {
    void it?.return?.()?.catch(() => {});
  }
}
