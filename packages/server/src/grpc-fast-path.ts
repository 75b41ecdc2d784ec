import type { EventEmitter } from "node:events";
import * as http2 from "node:http2";
import { create, type DescMessage, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createContextValues,
  createMethodImplSpec,
  createServiceImplSpec,
  type HandlerContext,
  type Interceptor,
  type MethodImplSpec,
  type StreamResponse,
  type UnaryResponse,
} from "@connectrpc/connect";
import { type Compression, compressionNegotiate, encodeEnvelope, envelopeCompress } from "@connectrpc/connect/protocol";
import { parseTimeout, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import type { AnyRequest, AnyResponse } from "./module.js";

/**
 * A fast path for the common call: gRPC over HTTP/2 (`application/grpc` or
 * `application/grpc+proto`) or gRPC-Web over HTTP/1.1 or HTTP/2 (`application/grpc-web` or
 * `application/grpc-web+proto`), no request compression, a unary or server-streaming
 * method. It does what connect-es's gRPC and gRPC-Web handlers do for such a call (same
 * interceptors, same `HandlerContext`, same statuses, headers and trailers, gRPC-Web's in
 * the body's last envelope) without their per-call pipeline of async-iterable layers: it
 * reads the envelope itself, decodes the request once (the decode is the message check),
 * and writes one envelope per response message, encoding a message marked with
 * {@link shareEncoding} once for every stream it goes to. Everything else goes through
 * connect's router.
 */

/** Connect's default: response messages smaller than this are never compressed. */
const COMPRESS_MIN_BYTES = 1024;

/** The protocols the fast path serves: gRPC (trailers as HTTP trailers) and gRPC-Web (trailers in the body). */
export type FastProtocol = "grpc" | "grpc-web";

/** The content types the fast path serves, with their protocol (connect answers the bare types as protobuf too). */
const FAST_CONTENT_TYPES = new Map<string, FastProtocol>([
  ["application/grpc", "grpc"],
  ["application/grpc+proto", "grpc"],
  ["application/grpc-web", "grpc-web"],
  ["application/grpc-web+proto", "grpc-web"],
]);

/** The response content type of each protocol (protobuf). */
const RESPONSE_CONTENT_TYPE: Record<FastProtocol, string> = {
  grpc: "application/grpc+proto",
  "grpc-web": "application/grpc-web+proto",
};

/** Messages whose encoding may be shared by every stream they are written to (see {@link shareEncoding}). */
const shared = new WeakSet<object>();
/** The enveloped (uncompressed) bytes of each shared message, once encoded. */
const encoded = new WeakMap<object, Uint8Array>();

/**
 * Marks a response message as never changed again, so that the fast path encodes it once
 * and writes the same bytes to every stream that yields it (one stored event followed by
 * many StreamEvents calls). Only for messages nothing mutates after this call; returns the
 * message.
 */
export function shareEncoding<T extends object>(message: T): T {
  shared.add(message);
  return message;
}

/** How many gRPC calls each path served, for tests and operators. */
export interface RpcPathCounts {
  /** Calls served by the gRPC fast path. */
  fast: number;
  /** RPCs (every protocol) served by connect's router. */
  connect: number;
}

/** What the fast path needs from the server. */
export interface FastPathOptions {
  /** Interceptors of every RPC, outermost first (as connect's router applies them). */
  interceptors: Interceptor[];
  /** Largest request message accepted, in bytes. */
  readMaxBytes: number;
  /** Largest response message sent, in bytes. */
  writeMaxBytes: number;
  /** Compressions the server may answer with (negotiated from `grpc-accept-encoding`). */
  compressions: Compression[];
  /** Aborted when the server's drain period is over. */
  shutdownSignal?: AbortSignal;
}

/** The implementations of the unary and server-streaming methods, by request path. */
export type FastRoutes = Map<string, MethodImplSpec>;

/**
 * A router that registers on `router` and records in `routes` the implementation of every
 * unary and server-streaming method registered with the router's own options (a service
 * registered with options of its own, which may change its protocols or limits, stays on
 * connect's path).
 */
export function recordingRouter(router: ConnectRouter, routes: FastRoutes): ConnectRouter {
  const record = (spec: MethodImplSpec) => {
    if (spec.kind === "unary" || spec.kind === "server_streaming")
      routes.set(`/${spec.method.parent.typeName}/${spec.method.name}`, spec);
  };
  const recording = {
    get handlers() {
      return router.handlers;
    },
    service(service: Parameters<ConnectRouter["service"]>[0], impl: never, options?: unknown) {
      (router.service as (...a: unknown[]) => unknown)(service, impl, options);
      if (options === undefined)
        for (const spec of Object.values(createServiceImplSpec(service, impl).methods)) record(spec);
      return recording;
    },
    rpc(method: Parameters<ConnectRouter["rpc"]>[0], impl: never, options?: unknown) {
      (router.rpc as (...a: unknown[]) => unknown)(method, impl, options);
      if (options === undefined) record(createMethodImplSpec(method, impl) as MethodImplSpec);
      return recording;
    },
  };
  return recording as unknown as ConnectRouter;
}

/**
 * The protocol of `req` when it is a call the fast path serves (given that its path names a
 * recorded method): gRPC over HTTP/2, gRPC-Web over either version; else undefined.
 */
export function takesFastPath(req: AnyRequest): FastProtocol | undefined {
  if (req.method !== "POST") return undefined;
  const protocol = fastHeaders(req.headers);
  return protocol === "grpc" && !("stream" in req) ? undefined : protocol;
}

/**
 * The protocol of a POST with these headers when it is a call the fast path serves (given
 * that its path names a recorded method): a protobuf gRPC or gRPC-Web content type and no
 * request compression; else undefined.
 */
export function fastHeaders(headers: http2.IncomingHttpHeaders): FastProtocol | undefined {
  const type = headers["content-type"];
  const protocol = type === undefined ? undefined : FAST_CONTENT_TYPES.get(type.toLowerCase());
  if (protocol === undefined) return undefined;
  const encoding = headers["grpc-encoding"];
  return encoding === undefined || encoding === "identity" ? protocol : undefined;
}

/**
 * Arms the deadline of a request body: `fail` is called (with the error the call ends
 * with) if the body is not complete in time; the function returned disarms it.
 */
export type BodyDeadline = (fail: (reason: unknown) => void) => () => void;

/** A {@link BodyDeadline} that fails when `signal` aborts (with its reason). */
export function signalDeadline(signal: AbortSignal | undefined): BodyDeadline | undefined {
  if (!signal) return undefined;
  return (fail) => {
    if (signal.aborted) {
      fail(signal.reason);
      return ignore;
    }
    const onAbort = () => fail(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    return () => signal.removeEventListener("abort", onAbort);
  };
}

/** Where a call's request body is read: the HTTP/2 stream itself, or compat's request over it. */
export type BodySource = EventEmitter & { pause(): unknown };

/** One call as the fast path serves it. */
export interface FastCall {
  /** Its protocol: where the trailers go, and the response's content type. */
  protocol: FastProtocol;
  /** The request's headers (pseudo-headers included). */
  headers: http2.IncomingHttpHeaders;
  /** The URL the handler's context shows (`http://authority/path`). */
  url: string;
  /** What emits `close` when the call's HTTP/2 stream or HTTP/1.1 response closes. */
  closes: EventEmitter;
  /** Why the handler's signal aborts when `closes` closes before the call is over (the client went away). */
  closeReason(): ConnectError;
  /** Where the request body is read. */
  body: BodySource;
  /** Where the response is written. */
  out: FastWriter;
  /** The request body's deadline, if it has one. */
  deadline: BodyDeadline | undefined;
}

/** What a call ended with, when it ended well (an abort reason is needed to release the context without a DOMException). */
const CALL_ENDED = new ConnectError("the call ended", Code.Canceled);

/**
 * Serves one gRPC call on the fast path; never rejects (every failure is a gRPC status, or
 * a reset stream when the response is gone). `call.deadline` fails the call when the
 * request body is not complete in time.
 */
export async function serveFast(spec: MethodImplSpec, call: FastCall, options: FastPathOptions): Promise<void> {
  const method = spec.method;
  const web = call.protocol === "grpc-web";
  const header = requestHeaders(call.headers);
  const timeout = parseTimeout(header.get("grpc-timeout"), Number.MAX_SAFE_INTEGER);
  const compression = compressionNegotiate(
    options.compressions,
    null,
    header.get("grpc-accept-encoding"),
    "grpc-accept-encoding",
  ).response;
  const context = callContext(spec, call.protocol, header, call.url, timeout.timeoutMs, options.shutdownSignal);
  if (compression) context.responseHeader.set("grpc-encoding", compression.name);
  // The client reset the stream or went away: the handler's signal says why.
  let over = false;
  const onClose = () => {
    // Left attached once the call is over (a close then says nothing to the handler).
    if (!over) context.abort(call.closeReason());
  };
  call.closes.once("close", onClose);
  const out = call.out;
  // The end of the response: gRPC's trailers as HTTP trailers, gRPC-Web's as the body's
  // last envelope (compressed as connect compresses it); `last` goes out before them.
  const finish = async (last?: Uint8Array): Promise<void> => {
    if (!web) {
      if (!out.headersSent) out.writeHead(200, nodeHeaders(context.responseHeader));
      out.addTrailers(nodeHeaders(context.responseTrailer));
      await end(out, last);
      return;
    }
    const trailer = await webTrailer(context.responseTrailer, compression);
    if (!live(out)) return;
    const body = last ? Buffer.concat([last, trailer]) : trailer;
    if (!out.headersSent) {
      const head = nodeHeaders(context.responseHeader);
      head["content-length"] = String(body.byteLength);
      out.writeHead(200, head);
    }
    await end(out, body);
  };
  let failure: unknown;
  try {
    const body = readSingle(call.body, method.input, options.readMaxBytes, call.deadline, method.methodKind);
    if (timeout.error) body.catch(() => {});
    const input = timeout.error ? Promise.reject(timeout.error) : body;
    input.catch(() => {}); // awaited below, or inside the interceptors (streams)
    const encode = encoder(method.output, options.writeMaxBytes, compression);
    // The request the interceptors see; its signal and values are the context's, read
    // when read (a spread reads them).
    const request = (streaming: boolean, message: unknown) => ({
      service: method.parent,
      requestMethod: "POST",
      url: context.url,
      get signal() {
        return context.signal;
      },
      header: context.requestHeader,
      get contextValues() {
        return context.values;
      },
      stream: streaming,
      method,
      message,
    });
    type Request = ReturnType<typeof request>;
    let first: Request | undefined;
    // The handler's context: the call's own, unless an interceptor passed a request of its own.
    const merged = (r: Request): HandlerContext =>
      r === first
        ? context
        : {
            ...context,
            service: r.service,
            requestHeader: r.header,
            signal: r.signal,
            values: r.contextValues,
          };
    const base = { service: method.parent, header: context.responseHeader, trailer: context.responseTrailer };
    if (spec.kind === "unary") {
      // As connect: the whole request is read before the interceptors run.
      const message = await input;
      const next = applyInterceptors(
        async (r) =>
          ({
            ...base,
            stream: false,
            method,
            message: create(method.output, await spec.impl((r as { message: never }).message, merged(r))),
          }) as UnaryResponse,
        options.interceptors,
      );
      first = request(false, message);
      const answer = await next(first as never);
      copyHeaders(answer.header, context.responseHeader);
      copyHeaders(answer.trailer, context.responseTrailer);
      const encoded = encode(answer.message as object);
      const bytes = encoded instanceof Uint8Array ? encoded : await encoded;
      if (!live(out)) return;
      await finish(bytes);
      return;
    }
    if (spec.kind !== "server_streaming") throw new ConnectError("not a fast-path method", Code.Internal);
    const impl = spec.impl;
    const next = applyInterceptors(
      async (r: Request & { message: AsyncIterable<never> }) =>
        ({
          ...base,
          stream: true,
          method,
          message: impl(await single(r.message), merged(r)),
        }) as StreamResponse,
      options.interceptors,
    );
    first = request(true, once(input));
    const answer = (await next(first as never)) as StreamResponse;
    copyHeaders(answer.header, context.responseHeader);
    const it = (answer.message as AsyncIterable<object>)[Symbol.asyncIterator]();
    let done = false;
    try {
      for (;;) {
        const r = await it.next();
        if (r.done) {
          done = true;
          break;
        }
        // A shared message's encoding is cached: no await for it.
        const encoded = encode(create(method.output, r.value as never));
        const bytes = encoded instanceof Uint8Array ? encoded : await encoded;
        // Headers go out with the first message, so the handler could still set them.
        if (!out.headersSent) out.writeHead(200, nodeHeaders(context.responseHeader));
        const wait = write(out, bytes);
        if (wait) await wait;
      }
    } finally {
      // Never waited for: a handler still busy ends on its aborted signal.
      if (!done) void it.return?.()?.catch(() => {});
    }
    copyHeaders(answer.trailer, context.responseTrailer);
    if (!live(out)) return;
    await finish();
  } catch (err) {
    failure = err;
    const error =
      err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
    setTrailerStatus(context.responseTrailer, error);
    if (!live(out)) return;
    await finish();
  } finally {
    over = true;
    context.abort(failure ?? CALL_ENDED);
  }
}

/** A handler's context and what ends it. */
type CallContext = HandlerContext & { abort(reason: unknown): void };

/** A remaining time of a call without a deadline. */
const noDeadline = (): undefined => undefined;

/**
 * The `HandlerContext` of a call, as connect's `createHandlerContext` makes it, with one
 * `AbortController` instead of three, made only when something reads `signal` (most unary
 * handlers never do): the signal is aborted when `abort` is called (the client went away,
 * the call ended), when the deadline passes (DEADLINE_EXCEEDED, as connect says it) and
 * when the drain period of a shutdown ends (the shutdown's reason); a signal first read
 * after one of those is born aborted with its reason. `values` too is made when first read.
 */
function callContext(
  spec: MethodImplSpec,
  protocol: FastProtocol,
  requestHeader: Headers,
  url: string,
  timeoutMs: number | undefined,
  shutdownSignal: AbortSignal | undefined,
): CallContext {
  let controller: AbortController | undefined;
  let ended = false;
  let reason: unknown;
  let timer: NodeJS.Timeout | undefined;
  let values: ReturnType<typeof createContextValues> | undefined;
  const onShutdown = () => abort(shutdownSignal?.reason);
  const abort = (why: unknown) => {
    if (ended) return;
    ended = true;
    reason = why;
    if (timer !== undefined) clearTimeout(timer);
    if (controller !== undefined) {
      shutdownSignal?.removeEventListener("abort", onShutdown);
      controller.abort(why);
    }
  };
  const signalOf = (): AbortSignal => {
    if (controller === undefined) {
      controller = new AbortController();
      if (ended) controller.abort(reason);
      else if (shutdownSignal?.aborted) abort(shutdownSignal.reason);
      else shutdownSignal?.addEventListener("abort", onShutdown, { once: true });
    }
    return controller.signal;
  };
  let remaining: () => number | undefined = noDeadline;
  if (timeoutMs !== undefined) {
    const at = Date.now() + timeoutMs;
    remaining = () => at - Date.now();
    const expire = () => abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    if (timeoutMs <= 0) expire();
    else timer = setTimeout(expire, timeoutMs);
  }
  if (shutdownSignal?.aborted) abort(shutdownSignal.reason);
  const context = {
    kind: spec.kind,
    method: spec.method,
    impl: spec.impl,
    service: spec.method.parent,
    requestMethod: "POST",
    protocolName: protocol,
    url,
    get signal() {
      return signalOf();
    },
    timeoutMs: remaining,
    requestHeader,
    responseHeader: headersOf("content-type", RESPONSE_CONTENT_TYPE[protocol]),
    responseTrailer: headersOf("grpc-status", "0"),
    get values() {
      values ??= createContextValues();
      return values;
    },
    abort,
  };
  return context as unknown as CallContext;
}

/** `Headers` with one entry (set, not built from an init object: webidl's record conversion costs more). */
function headersOf(name: string, value: string): Headers {
  const h = new Headers();
  h.set(name, value);
  return h;
}

/** Applies interceptors as connect does: the first in the list is the outermost. */
function applyInterceptors<T extends (req: never) => Promise<unknown>>(fn: T, interceptors: Interceptor[]): T {
  let next = fn as unknown as Parameters<Interceptor>[0];
  for (let i = interceptors.length - 1; i >= 0; i--) next = (interceptors[i] as Interceptor)(next);
  return next as unknown as T;
}

/** The request's headers as fetch `Headers`, HTTP/2 pseudo-headers left out (as connect-node converts them). */
function requestHeaders(headers: http2.IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const key in headers) {
    if (key.charCodeAt(0) === 58 /* ":" */) continue;
    const v = headers[key];
    if (v === undefined) continue;
    if (typeof v === "string") out.append(key, v);
    else for (const e of v) out.append(key, e);
  }
  return out;
}

/** Replaces `to`'s entries with `from`'s (an interceptor may have answered with headers of its own). */
function copyHeaders(from: Headers, to: Headers): void {
  if (from === to) return;
  for (const key of [...to.keys()]) to.delete(key);
  from.forEach((value, key) => {
    to.set(key, value);
  });
}

/** The error a handler's signal aborts with when its client resets the stream (as connect-node maps reset codes). */
export function errorFromResetCode(rstCode: number | undefined): ConnectError {
  const c = http2.constants;
  const why = `http/2 stream closed with error code ${rstCode ?? "none"}`;
  switch (rstCode) {
    case c.NGHTTP2_REFUSED_STREAM:
      return new ConnectError(why, Code.Unavailable);
    case c.NGHTTP2_ENHANCE_YOUR_CALM:
      return new ConnectError(why, Code.ResourceExhausted);
    case c.NGHTTP2_INADEQUATE_SECURITY:
    case c.NGHTTP2_HTTP_1_1_REQUIRED:
      return new ConnectError(why, Code.PermissionDenied);
    case c.NGHTTP2_PROTOCOL_ERROR:
    case c.NGHTTP2_INTERNAL_ERROR:
    case c.NGHTTP2_FLOW_CONTROL_ERROR:
    case c.NGHTTP2_SETTINGS_TIMEOUT:
    case c.NGHTTP2_FRAME_SIZE_ERROR:
    case c.NGHTTP2_COMPRESSION_ERROR:
    case c.NGHTTP2_CONNECT_ERROR:
      return new ConnectError(why, Code.Internal);
    default:
      return new ConnectError("the client closed the stream", Code.Canceled);
  }
}

/**
 * Encodes response messages into envelopes: RESOURCE_EXHAUSTED past `writeMaxBytes` (as
 * connect says it), compressed when the client accepts a compression and the message is
 * large enough, and encoded once for every stream when shared ({@link shareEncoding}).
 */
function encoder(
  schema: DescMessage,
  writeMaxBytes: number,
  compression: Compression | null,
): (message: object) => Promise<Uint8Array> | Uint8Array {
  return (message) => {
    const cached = encoded.get(message);
    if (cached && (compression === null || cached.byteLength - 5 < COMPRESS_MIN_BYTES)) return cached;
    const bytes = toBinary(schema, message as never);
    if (bytes.byteLength > writeMaxBytes)
      throw new ConnectError(
        `message size ${bytes.byteLength} is larger than configured writeMaxBytes ${writeMaxBytes}`,
        Code.ResourceExhausted,
      );
    if (compression !== null && bytes.byteLength >= COMPRESS_MIN_BYTES)
      return envelopeCompress({ flags: 0, data: bytes }, compression, COMPRESS_MIN_BYTES).then((e) =>
        encodeEnvelope(e.flags, e.data),
      );
    const envelope = encodeEnvelope(0, bytes);
    if (shared.has(message)) encoded.set(message, envelope);
    return envelope;
  };
}

/**
 * gRPC-Web's trailer envelope (flag 0x80): `trailer` as `name: value` lines, compressed
 * (flag 0x81) when the response is and the block is large enough, as connect writes it.
 */
async function webTrailer(trailer: Headers, compression: Compression | null): Promise<Uint8Array> {
  const data = trailerSerialize(trailer);
  if (compression === null || data.byteLength < COMPRESS_MIN_BYTES) return encodeEnvelope(trailerFlag, data);
  const e = await envelopeCompress({ flags: trailerFlag, data }, compression, COMPRESS_MIN_BYTES);
  return encodeEnvelope(e.flags, e.data);
}

/**
 * Parses `bytes` as `schema`, throwing INVALID_ARGUMENT when they do not decode (connect
 * would say INTERNAL): the one decode of a request message, which is also its check.
 */
export function decodeMessage(schema: DescMessage, bytes: Uint8Array): unknown {
  try {
    return fromBinary(schema, bytes);
  } catch (err) {
    throw new ConnectError(
      `cannot decode ${schema.typeName}: ${err instanceof Error ? err.message : String(err)}`,
      Code.InvalidArgument,
    );
  }
}

/** The invalid-flags refusal, shared with the checker of connect's path. */
export function invalidFlags(flags: number): ConnectError {
  return new ConnectError(
    `invalid envelope flags 0x${flags.toString(16).padStart(2, "0")}: a request message may only set the compressed flag (0x01)`,
    Code.InvalidArgument,
  );
}

/** The refusal of a body that ended inside an envelope, shared with the checker of connect's path. */
export function truncatedEnvelope(have: number, need: number | undefined): ConnectError {
  return new ConnectError(
    need === undefined
      ? `the request ended inside an envelope prefix (${have} of 5 bytes)`
      : `the request ended inside a message (${have - 5} of ${need - 5} bytes)`,
    Code.InvalidArgument,
  );
}

/**
 * Reads the one request message of a unary or server-streaming call: the envelopes as
 * they arrive (a message larger than `maxBytes` is refused from its prefix, before it is
 * buffered), each decoded once. The errors are connect's (missing or extra message) or the
 * server's own checks (flags, truncation, decoding); the request body stops being read at
 * the first one. Rejects with `deadline`'s reason when it aborts first, and CANCELED when
 * the stream closes first.
 */
function readSingle(
  req: BodySource,
  schema: DescMessage,
  maxBytes: number,
  deadline: BodyDeadline | undefined,
  kind: string,
): Promise<unknown> {
  const label = kind === "unary" ? "unary" : "server-streaming";
  return new Promise<unknown>((resolve, reject) => {
    let chunks: Uint8Array[] = [];
    let have = 0;
    let need = 5;
    let flags: number | undefined;
    let message: unknown;
    let count = 0;
    let settled = false;
    let disarm: (() => void) | undefined;
    const finish = (err: unknown, value?: unknown) => {
      if (settled) return;
      settled = true;
      disarm?.();
      // After "end" no data, end or error comes, and a later close finds the read settled:
      // the listeners stay (removing them from a stream's lists costs more than they do).
      if (err === undefined) {
        resolve(value);
        return;
      }
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onGone);
      req.pause();
      reject(err);
    };
    const onData = (c: Buffer) => {
      chunks.push(c);
      have += c.byteLength;
      try {
        while (have >= need) {
          const buf = chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks);
          if (flags === undefined) {
            const length = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).readUInt32BE(1);
            if (length > maxBytes)
              throw new ConnectError(
                `message size ${length} is larger than configured readMaxBytes ${maxBytes}`,
                Code.ResourceExhausted,
              );
            flags = buf[0] as number;
            need = 5 + length;
            chunks = [buf];
            continue;
          }
          if ((flags & ~0x01) !== 0) throw invalidFlags(flags);
          if (flags & 0x01)
            throw new ConnectError(
              "a message is flagged compressed, but the request has no grpc-encoding",
              Code.InvalidArgument,
            );
          const decoded = decodeMessage(schema, buf.subarray(5, need));
          if (++count > 1)
            throw new ConnectError(
              `protocol error: received extra input message for ${label} method`,
              Code.Unimplemented,
            );
          message = decoded;
          const rest = buf.subarray(need);
          chunks = rest.byteLength > 0 ? [rest] : [];
          have = rest.byteLength;
          need = 5;
          flags = undefined;
        }
      } catch (err) {
        finish(err);
      }
    };
    const onEnd = () => {
      if (have > 0) finish(truncatedEnvelope(have, flags === undefined ? undefined : need));
      else if (count === 0)
        finish(new ConnectError(`protocol error: missing input message for ${label} method`, Code.Unimplemented));
      else finish(undefined, message);
    };
    const onError = (err: unknown) => finish(ConnectError.from(err, Code.Canceled));
    // Every request's stream closes, most after their read settled: no error made for those.
    const onGone = () => {
      if (!settled) finish(new ConnectError("the client closed the stream", Code.Canceled));
    };
    disarm = deadline?.((reason) => finish(reason));
    if (settled) return; // the deadline had passed already
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("error", onError);
    req.once("close", onGone);
  });
}

/** The request message(s) as the interceptors of a stream see them: an async iterable of the one message. */
function once<T>(message: Promise<T>): AsyncIterable<T> {
  return {
    async *[Symbol.asyncIterator]() {
      yield await message;
    },
  };
}

/** The one message of `messages` (an interceptor may have replaced the iterable), as connect reads it. */
async function single<T>(messages: AsyncIterable<T>): Promise<T> {
  const it = messages[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done === true)
    throw new ConnectError("protocol error: missing input message for server-streaming method", Code.Unimplemented);
  const second = await it.next();
  if (second.done !== true)
    throw new ConnectError(
      "protocol error: received extra input message for server-streaming method",
      Code.Unimplemented,
    );
  return first.value;
}

/** What the fast path writes a response to: compat's response, or a {@link StreamWriter}. */
export interface FastWriter {
  readonly destroyed: boolean;
  readonly writableEnded: boolean;
  readonly headersSent: boolean;
  writeHead(status: number, headers: Record<string, string | string[]>): unknown;
  write(chunk: Uint8Array, cb: (err?: Error | null) => void): boolean;
  addTrailers(headers: Record<string, string | string[]>): void;
  end(chunk: Uint8Array | (() => void), cb?: () => void): unknown;
  once(event: "close" | "drain" | "error", listener: () => void): unknown;
  off(event: "close" | "drain" | "error", listener: () => void): unknown;
}

/** The parts of a server response the writers use. */
export type Writer = AnyResponse & FastWriter;

/**
 * A response written straight to an HTTP/2 stream, as compat's `Http2ServerResponse`
 * writes it (`respond` with `waitForTrailers`, the trailers sent on `wantTrailers`, a
 * `date` header from Node), without compat's request and response objects; for gRPC-Web,
 * whose trailers are in the body, with no trailer block. Counts the bytes written into
 * `flight.written`; once the response is out while the client is still sending (a refusal
 * before the body was read in full), resets the stream with NO_ERROR so the client stops
 * (RFC 9113 §8.1).
 */
export class StreamWriter implements FastWriter {
  readonly #stream: http2.ServerHttp2Stream;
  readonly #flight: { written: number };
  readonly #httpTrailers: boolean;
  #trailers: Record<string, string | string[]> = {};

  /** `httpTrailers`: whether the response ends with a trailer block (gRPC) or not (gRPC-Web). */
  constructor(stream: http2.ServerHttp2Stream, flight: { written: number }, httpTrailers = true) {
    this.#stream = stream;
    this.#flight = flight;
    this.#httpTrailers = httpTrailers;
  }
  get destroyed(): boolean {
    return this.#stream.destroyed;
  }
  get writableEnded(): boolean {
    return this.#stream.writableEnded;
  }
  get headersSent(): boolean {
    return this.#stream.headersSent;
  }
  writeHead(status: number, headers: Record<string, string | string[]>): void {
    const stream = this.#stream;
    if (stream.headersSent || stream.destroyed || stream.closed) return;
    headers[":status"] = String(status);
    if (!this.#httpTrailers) {
      stream.once("finish", () => {
        if (!bodyComplete(stream)) setImmediate(resetUnlessComplete, stream);
      });
      stream.respond(headers);
      return;
    }
    stream.once("wantTrailers", () => {
      stream.sendTrailers(this.#trailers);
      if (!bodyComplete(stream)) setImmediate(resetUnlessComplete, stream);
    });
    stream.respond(headers, { waitForTrailers: true });
  }
  write(chunk: Uint8Array, cb: (err?: Error | null) => void): boolean {
    this.#flight.written += chunk.byteLength;
    return this.#stream.write(chunk, cb);
  }
  addTrailers(headers: Record<string, string | string[]>): void {
    this.#trailers = headers;
  }
  end(chunk: Uint8Array | (() => void), cb?: () => void): void {
    if (typeof chunk === "function") this.#stream.end(chunk);
    else {
      this.#flight.written += chunk.byteLength;
      this.#stream.end(chunk, cb);
    }
  }
  once(event: "close" | "drain" | "error", listener: () => void): void {
    this.#stream.once(event, listener);
  }
  off(event: "close" | "drain" | "error", listener: () => void): void {
    this.#stream.off(event, listener);
  }
}

/** Whether the client has sent its whole request on `stream` (END_STREAM seen, read or not). */
export function bodyComplete(stream: http2.ServerHttp2Stream): boolean {
  return stream.endAfterHeaders || stream.readableEnded || stream.destroyed || stream.state?.remoteClose === 1;
}

/** Resets `stream` with NO_ERROR unless the client has sent its whole request by now. */
function resetUnlessComplete(stream: http2.ServerHttp2Stream): void {
  if (!bodyComplete(stream)) stream.close(http2.constants.NGHTTP2_NO_ERROR);
}

/** Whether the response can still be written to. */
function live(out: FastWriter): boolean {
  return !(out.destroyed || out.writableEnded);
}

/** Ends the response (with a last chunk) and resolves when it has finished or closed. */
export function end(out: FastWriter, chunk?: Uint8Array): Promise<void> {
  return new Promise<void>((resolve) => {
    if (out.destroyed) {
      resolve();
      return;
    }
    out.once("close", resolve);
    if (chunk) out.end(chunk, () => resolve());
    else out.end(() => resolve());
  });
}

/** fetch `Headers` as a Node header object (`set-cookie` as a list). */
export function nodeHeaders(header: Headers): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  header.forEach((value, key) => {
    out[key] = key === "set-cookie" ? header.getSetCookie() : value;
  });
  return out;
}

/**
 * Writes one chunk: nothing to wait for (undefined) when the socket's buffer took it below
 * its high-water mark, else a promise of `drain` (or of the response closing first). No
 * listener is added for a write that needs no wait: Node emits a stream's errors and
 * `close` asynchronously, so the listeners added after a full write never miss them.
 */
export function write(out: FastWriter, chunk: Uint8Array): Promise<void> | undefined {
  if (out.destroyed || out.writableEnded)
    return Promise.reject(new ConnectError("the response was closed", Code.Aborted));
  if (out.write(chunk, ignore)) return undefined;
  return new Promise<void>((resolve, reject) => {
    const done = (err?: unknown) => {
      out.off("drain", onDrain);
      out.off("close", onClose);
      out.off("error", onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new ConnectError("the response was closed", Code.Aborted));
    if (out.destroyed) {
      onClose();
      return;
    }
    out.once("close", onClose);
    out.once("error", onClose);
    out.once("drain", onDrain);
  });
}

function ignore(): void {}
