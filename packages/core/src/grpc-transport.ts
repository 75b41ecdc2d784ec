import type * as http2 from "node:http2";
import { create, type DescMessage, type DescMethod, isMessage, type MessageShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createContextValues,
  type Interceptor,
  type StreamRequest,
  type StreamResponse,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { headerGrpcStatus, requestHeader, validateResponse, validateTrailer } from "@connectrpc/connect/protocol-grpc";
import { createGrpcTransport, type Http2SessionManager } from "@connectrpc/connect-node";
import { type BufferedIterator, takeBuffered } from "./buffered.js";
import { decodeBinary } from "./decode.js";
import {
  codesOf,
  encodeEnvelope,
  leanUnary,
  MAX_ENVELOPE,
  NEVER,
  nodeError,
  readMaxError,
  requestBase,
  withInterceptors,
  wrongOriginError,
} from "./lean-call.js";

/** What {@link createLeanGrpcTransport} needs. */
export interface LeanGrpcTransportOptions {
  /** Base URL of the server (`http://host:port`, `https://…`). */
  baseUrl: string;
  /** The HTTP/2 session of the address: one per address, shared by every call. */
  sessionManager: Http2SessionManager;
  /** connect-es interceptors, the first one outermost (as connect-es runs them). */
  interceptors?: Interceptor[];
  /** Largest message accepted, in bytes. Default 4 GiB - 1 (the envelope's limit). */
  readMaxBytes?: number;
  /** Largest message sent, in bytes. Default 4 GiB - 1. */
  writeMaxBytes?: number;
}

const H2_NO_ERROR = 0x0;
const H2_INTERNAL_ERROR = 0x2;
const H2_REFUSED_STREAM = 0x7;
const H2_CANCEL = 0x8;
const H2_ENHANCE_YOUR_CALM = 0xb;
const H2_INADEQUATE_SECURITY = 0xc;
const H2_HTTP_1_1_REQUIRED = 0xd;

const H2_CODE_NAMES: Record<number, string> = {
  1: "PROTOCOL_ERROR",
  2: "INTERNAL_ERROR",
  3: "FLOW_CONTROL_ERROR",
  4: "SETTINGS_TIMEOUT",
  5: "STREAM_CLOSED",
  6: "FRAME_SIZE_ERROR",
  7: "REFUSED_STREAM",
  8: "CANCEL",
  9: "COMPRESSION_ERROR",
  10: "CONNECT_ERROR",
  11: "ENHANCE_YOUR_CALM",
  12: "INADEQUATE_SECURITY",
  13: "HTTP_1_1_REQUIRED",
};

/**
 * A connect-es `Transport` for gRPC over HTTP/2 made for unary calls and server streams: each
 * call is one `node:http2` stream on the address's shared session, its request written in one
 * frame with the end of stream. A unary answer is read straight from the stream's events, with
 * no async-iterable pipeline and no `AbortController` unless the call has a deadline (a
 * caller's signal is used as it is). A server stream's frames are parsed as DATA chunks arrive
 * (split across chunks or several in one) and handed to the consumer one `next()` at a time;
 * while more than 128 KiB wait for a consumer that is behind, the stream stops being read
 * (HTTP/2 flow control then holds the server back), so memory stays bounded. Client and bidi
 * streams go through connect-node's gRPC transport on the same session.
 *
 * Same wire behaviour as connect-node's: `grpc-timeout` (and a local timer), `te: trailers`,
 * trailers and trailers-only responses, `grpc-status-details-bin` details, HTTP status and
 * RST_STREAM codes mapped as connect-node maps them, cancellation (a signal, a deadline, or a
 * consumer's `return()`) as RST_STREAM CANCEL, message limits both ways (RESOURCE_EXHAUSTED).
 * A stream whose connection goes away fails with UNAVAILABLE. It asks for no compression and
 * refuses a compressed response (INTERNAL). Interceptors see `req.signal` as the caller's
 * signal, or the deadline's, for unary calls (not aborted when the call ends); a stream's
 * signal links both and is aborted when the stream ends, as connect-es does.
 */
export function createLeanGrpcTransport(options: LeanGrpcTransportOptions): Transport {
  const { sessionManager: sessions, baseUrl } = options;
  const interceptors = options.interceptors ?? [];
  const readMax = options.readMaxBytes ?? MAX_ENVELOPE;
  const writeMax = options.writeMaxBytes ?? MAX_ENVELOPE;
  const origin = new URL(baseUrl).origin;
  const streaming = createGrpcTransport({
    baseUrl,
    sessionManager: sessions,
    interceptors,
    readMaxBytes: readMax,
    writeMaxBytes: writeMax,
  });
  // The innermost step of every unary call: one HTTP/2 stream.
  const run = withInterceptors(interceptors, (req: UnaryRequest) =>
    unaryOverStream(sessions, origin, req, readMax, writeMax),
  );
  return {
    unary: leanUnary(baseUrl, lazyUnaryRequest, run),
    stream(method, signal, timeoutMs, header, input, contextValues) {
      if (method.methodKind !== "server_streaming") {
        return streaming.stream(method, signal, timeoutMs, header, input, contextValues) as Promise<
          StreamResponse<typeof method.input, typeof method.output>
        >;
      }
      // One AbortController per stream (as connect-es has): it links the caller's signal
      // and the deadline, and is aborted when the call ends, so interceptors can tell.
      const deadline = timeoutMs !== undefined && timeoutMs > 0 ? timeoutMs : undefined;
      const controller = new AbortController();
      const onAbort = () => controller.abort(ConnectError.from(signal?.reason, Code.Canceled));
      if (signal?.aborted) onAbort();
      else signal?.addEventListener("abort", onAbort, { once: true });
      const timer =
        deadline === undefined
          ? undefined
          : setTimeout(
              () => controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)),
              deadline,
            );
      let ended = false;
      const settle = () => {
        if (ended) return;
        ended = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (!controller.signal.aborted) controller.abort();
      };
      const req = {
        ...requestBase(baseUrl, method, grpcHeader(deadline, header), contextValues),
        stream: true as const,
        signal: controller.signal,
        message: input,
      } as StreamRequest<typeof method.input, typeof method.output>;
      const run = withInterceptors(interceptors, (r: StreamRequest) =>
        serverStreamOverStream(sessions, origin, r, readMax, writeMax, settle),
      );
      return run(req).then(
        (res) => res as StreamResponse<typeof method.input, typeof method.output>,
        (err: unknown) => {
          settle();
          throw ConnectError.from(err, Code.Internal);
        },
      );
    },
  };
}

/** gRPC request headers (binary, `te: trailers`, `grpc-timeout` for a deadline), as connect-node sends them. */
const grpcHeader = (deadline: number | undefined, header: Parameters<typeof requestHeader>[2]) =>
  requestHeader(true, deadline, header);

/**
 * Response bytes a server stream holds for a consumer that is behind before it stops reading
 * the HTTP/2 stream (HTTP/2 flow control then stops the server): the memory of a stream is
 * bounded by this plus one DATA chunk, or by one message up to readMaxBytes.
 */
const STREAM_HIGH_WATER_BYTES = 128 * 1024;

/**
 * Sends a server-streaming request on a new stream of the session: the request envelope
 * written in one frame with the end of stream, then response frames parsed as DATA chunks
 * arrive and handed to the consumer one `next()` at a time. Resolves once the response
 * headers are in (as connect-node does), failing there on an error status or header.
 * `settle` runs once when the call is over (done, failed, cancelled or returned).
 */
async function serverStreamOverStream(
  sessions: Http2SessionManager,
  origin: string,
  req: StreamRequest,
  readMax: number,
  writeMax: number,
  settle: () => void,
): Promise<StreamResponse> {
  const signal = req.signal;
  const desc = req.method.input;
  const envelopes: Buffer[] = [];
  try {
    for await (const input of req.message) {
      envelopes.push(encodeEnvelope(desc, isMessage(input, desc) ? input : create(desc, input), writeMax));
    }
  } catch (err) {
    settle();
    throw ConnectError.from(err, Code.Internal);
  }
  if (signal.aborted) {
    settle();
    throw ConnectError.from(signal.reason, Code.Canceled);
  }
  if (!req.url.startsWith(origin)) {
    settle();
    throw wrongOriginError(req.url, origin, "http2 session");
  }
  const body = envelopes.length === 1 ? envelopes[0]! : Buffer.concat(envelopes);
  const headers = wireHeaders(req.header);
  const output = req.method.output;
  return new Promise<StreamResponse>((resolve, reject) => {
    let stream: http2.ClientHttp2Stream | undefined;
    let header: Headers | undefined;
    const trailer = new Headers();
    /** Status in the headers (a trailers-only response): no trailers to wait for. */
    let foundStatus = false;
    /** The stream ended ("end"): what is queued is all there is. */
    let ended = false;
    /** The call is over for the consumer: every later `next()` is done (after `failure`, once). */
    let finished = false;
    /** What ends the stream once the queue is drained: an error, or `null` for a clean end. */
    let outcome: ConnectError | null | undefined;
    const queue: Buffer[] = [];
    let head = 0;
    let queuedBytes = 0;
    let paused = false;
    /** A frame split across DATA chunks: its parts so far, and the bytes it needs (-1: header incomplete). */
    let parts: Buffer[] = [];
    let partsLength = 0;
    let need = -1;
    let waiter: { resolve: (r: IteratorResult<unknown>) => void; reject: (e: unknown) => void } | undefined;

    const onAbort = () => fail(ConnectError.from(signal.reason, Code.Canceled), true);
    signal.addEventListener("abort", onAbort, { once: true });

    function closeStream(code: number): void {
      if (stream && !stream.closed) stream.close(code);
    }

    /** Ends the call with `err`: at once (`now`: cancellation, a deadline), or after the queued messages. */
    function fail(err: ConnectError, now = false): void {
      if (finished || outcome !== undefined) return;
      const cancel = err.code === Code.Canceled || err.code === Code.DeadlineExceeded;
      closeStream(cancel ? H2_CANCEL : H2_INTERNAL_ERROR);
      if (header === undefined) {
        // No response yet: the stream() call itself fails.
        finished = true;
        signal.removeEventListener("abort", onAbort);
        settle();
        reject(err);
        return;
      }
      if (now) {
        queue.length = 0;
        head = 0;
        queuedBytes = 0;
      }
      outcome = err;
      drain();
    }

    /** The clean end of the response: validated as connect-es validates it, then delivered after the queue. */
    function complete(): void {
      if (finished || outcome !== undefined) return;
      try {
        if (!header) throw new ConnectError("protocol error: the stream ended without a response", Code.Internal);
        if (partsLength > 0) throw new ConnectError("protocol error: incomplete envelope", Code.Internal);
        if (!foundStatus) validateTrailer(trailer, header);
        outcome = null;
        drain();
      } catch (err) {
        fail(ConnectError.from(err, Code.Internal));
      }
    }

    /** Hands the waiting consumer its next message, or the outcome once the queue is empty. */
    function drain(): void {
      if (!waiter) return;
      const w = waiter;
      if (head < queue.length) {
        waiter = undefined;
        const r = take();
        if (r instanceof ConnectError) w.reject(r);
        else w.resolve(r);
        return;
      }
      if (outcome === undefined) return;
      waiter = undefined;
      const err = end();
      if (err) w.reject(err);
      else w.resolve({ done: true, value: undefined });
    }

    /** Marks the call finished; returns the error to throw, if it failed. */
    function end(): ConnectError | undefined {
      finished = true;
      signal.removeEventListener("abort", onAbort);
      settle();
      return outcome ?? undefined;
    }

    /** Decodes the next queued frame (the queue is not empty), resuming the stream when drained. */
    function take(): IteratorResult<unknown> | ConnectError {
      const frame = queue[head]!;
      queue[head++] = EMPTY;
      queuedBytes -= frame.length;
      if (head === queue.length) {
        queue.length = 0;
        head = 0;
        if (paused && stream && outcome === undefined) {
          paused = false;
          stream.resume();
        }
      }
      if ((frame[0]! & 0b1) === 0b1) {
        const err = new ConnectError(
          "protocol error: received compressed output without an agreed encoding",
          Code.Internal,
        );
        fail(err, true);
        end();
        return err;
      }
      try {
        return { done: false, value: decodeBinary(output, frame.subarray(5)) };
      } catch (err) {
        const ce = ConnectError.from(err, Code.Internal);
        fail(ce, true);
        end();
        return ce;
      }
    }

    /** Fails the call when a frame announces a message over readMaxBytes. */
    function tooLarge(length: number): boolean {
      if (length <= readMax) return false;
      fail(readMaxError(length, readMax));
      return true;
    }

    /** Splits DATA into whole frames (each with its 5-byte prefix) and queues them. */
    function onData(chunk: Buffer): void {
      if (stream) sessions.notifyResponseByteRead(stream);
      if (finished || outcome !== undefined) return;
      let buf = chunk;
      if (partsLength > 0) {
        parts.push(chunk);
        partsLength += chunk.length;
        if (need < 0 && partsLength >= 5) {
          const prefix = parts[0]!.length >= 5 ? parts[0]! : Buffer.concat(parts, partsLength);
          need = 5 + prefix.readUInt32BE(1);
          if (tooLarge(need - 5)) return;
        }
        if (need < 0 || partsLength < need) return;
        buf = Buffer.concat(parts, partsLength);
        parts = [];
        partsLength = 0;
        need = -1;
      }
      let off = 0;
      while (buf.length - off >= 5) {
        const length = buf.readUInt32BE(off + 1);
        if (tooLarge(length)) return;
        if (buf.length - off - 5 < length) break;
        const frame = buf.subarray(off, off + 5 + length);
        queue.push(frame);
        queuedBytes += frame.length;
        off += 5 + length;
      }
      if (off < buf.length) {
        const rest = buf.subarray(off);
        parts = [rest];
        partsLength = rest.length;
        need = rest.length >= 5 ? 5 + rest.readUInt32BE(1) : -1;
      }
      if (foundStatus && head < queue.length) {
        fail(new ConnectError("protocol error: received a message in a trailers-only response", Code.Internal));
        return;
      }
      if (!paused && queuedBytes >= STREAM_HIGH_WATER_BYTES && stream) {
        paused = true;
        stream.pause();
      }
      drain();
    }

    /** A failure {@link takeBuffered} found (a frame that does not decode): the next `next()` rejects with it. */
    let taken: ConnectError | undefined;
    const iterator: BufferedIterator<unknown> = {
      [takeBuffered]() {
        if (waiter !== undefined || taken !== undefined || head >= queue.length) return undefined;
        const r = take();
        if (r instanceof ConnectError) {
          taken = r;
          return undefined;
        }
        return r as IteratorYieldResult<unknown>;
      },
      next() {
        if (taken !== undefined) {
          const err = taken;
          taken = undefined;
          return Promise.reject(err);
        }
        if (head < queue.length) {
          const r = take();
          return r instanceof ConnectError ? Promise.reject(r) : Promise.resolve(r);
        }
        if (finished) return Promise.resolve({ done: true, value: undefined });
        if (outcome !== undefined) {
          const err = end();
          return err ? Promise.reject(err) : Promise.resolve({ done: true, value: undefined });
        }
        if (waiter) return Promise.reject(new ConnectError("concurrent next() on a stream", Code.Internal));
        return new Promise((res, rej) => {
          waiter = { resolve: res, reject: rej };
        });
      },
      return() {
        // The consumer stopped (`break`): cancel the stream if it is still running.
        if (!finished) {
          if (outcome === undefined) closeStream(H2_CANCEL);
          queue.length = 0;
          head = 0;
          queuedBytes = 0;
          outcome = null;
          end();
        }
        return Promise.resolve({ done: true, value: undefined });
      },
    };

    sessions.request("POST", req.url.slice(origin.length), headers, {}).then(
      (s) => {
        if (finished) {
          s.close(H2_CANCEL);
          return;
        }
        stream = s;
        const session = s.session;
        s.on("response", (h) => {
          const hs = webHeaders(h);
          try {
            const { foundStatus: inHeader, headerError } = validateResponse(Number(h[":status"]), hs);
            if (headerError) throw headerError;
            const encoding = hs.get("grpc-encoding");
            if (encoding !== null && encoding.toLowerCase() !== "identity") {
              throw new ConnectError(`unsupported response encoding "${encoding}"`, Code.Internal, hs);
            }
            foundStatus = inHeader;
          } catch (err) {
            fail(ConnectError.from(err, Code.Internal));
            return;
          }
          header = hs;
          resolve({
            stream: true,
            service: req.service,
            method: req.method,
            header: hs,
            trailer,
            message: { [Symbol.asyncIterator]: () => iterator },
          } as StreamResponse);
        });
        s.on("data", onData);
        s.on("trailers", (t) => {
          webHeaders(t).forEach((value, key) => {
            trailer.set(key, value);
          });
        });
        s.on("end", () => {
          ended = true;
          // Complete (trailers, or a trailers-only answer): done. Otherwise "close" tells why it ended.
          if (foundStatus || trailer.has(headerGrpcStatus)) complete();
        });
        s.on("error", (err) => {
          if (s.writableEnded && codesOf(err).includes("ERR_STREAM_WRITE_AFTER_END")) return;
          const reset = codesOf(err).includes("ERR_HTTP2_STREAM_ERROR") ? resetError(s.rstCode) : undefined;
          fail(reset ?? droppedError(session, s.rstCode) ?? nodeError(err));
        });
        s.on("close", () => {
          if (finished || outcome !== undefined) return;
          if (ended && (s.rstCode === undefined || s.rstCode === H2_NO_ERROR)) complete();
          else
            fail(
              droppedError(session, s.rstCode) ??
                resetError(s.rstCode) ??
                new ConnectError("protocol error: the stream closed before the response ended", Code.Internal),
            );
        });
        s.end(body);
      },
      (err: unknown) => fail(nodeError(err)),
    );
  });
}

const EMPTY = Buffer.alloc(0);

/**
 * UNAVAILABLE when the stream ended because its session went away (the connection closed
 * or the server sent GOAWAY without it), not because the server reset the stream.
 */
function droppedError(session: http2.Http2Session | undefined, rstCode: number | undefined): ConnectError | undefined {
  if (session !== undefined && !session.destroyed) return undefined;
  if (rstCode !== undefined && rstCode !== H2_NO_ERROR && rstCode !== H2_CANCEL) return undefined;
  return new ConnectError("the connection closed before the stream ended", Code.Unavailable);
}

/** Sends one unary request on a new stream of the session and reads its answer. */
function unaryOverStream(
  sessions: Http2SessionManager,
  origin: string,
  req: UnaryRequest,
  readMax: number,
  writeMax: number,
): Promise<UnaryResponse> {
  const signal = req.signal;
  if (signal.aborted) return Promise.reject(ConnectError.from(signal.reason, Code.Canceled));
  let body: Buffer;
  try {
    body = encodeEnvelope(req.method.input, req.message, writeMax);
  } catch (err) {
    return Promise.reject(ConnectError.from(err, Code.Internal));
  }
  if (!req.url.startsWith(origin)) {
    return Promise.reject(wrongOriginError(req.url, origin, "http2 session"));
  }
  const path = req.url.slice(origin.length);
  const headers = unaryWireHeaders(req);
  return new Promise<UnaryResponse>((resolve, reject) => {
    let stream: http2.ClientHttp2Stream | undefined;
    let settled = false;
    // The response headers and trailers as they came, and as web `Headers` once asked for:
    // a plain successful answer is checked on the raw ones and never builds `Headers`
    // unless an interceptor or `onHeader`/`onTrailer` reads them.
    let rawHeader: http2.IncomingHttpHeaders | undefined;
    let header: Headers | undefined;
    let headerError: ConnectError | undefined;
    let rawTrailer: http2.IncomingHttpHeaders | undefined;
    let trailer: Headers | undefined;
    const headerOf = (): Headers => {
      header ??= webHeaders(rawHeader ?? {});
      return header;
    };
    const trailerOf = (): Headers => {
      trailer ??= rawTrailer === undefined ? new Headers() : webHeaders(rawTrailer);
      return trailer;
    };
    let ended = false;
    let gotStatus = false;
    const chunks: Buffer[] = [];
    let received = 0;
    let checkedLength = false;

    const onAbort = () => fail(ConnectError.from(signal.reason, Code.Canceled));
    const listening = signal !== NEVER;
    if (listening) signal.addEventListener("abort", onAbort, { once: true });

    function fail(err: ConnectError): void {
      if (settled) return;
      settled = true;
      if (listening) signal.removeEventListener("abort", onAbort);
      if (stream && !stream.closed) {
        const cancel = err.code === Code.Canceled || err.code === Code.DeadlineExceeded;
        stream.close(cancel ? H2_CANCEL : H2_INTERNAL_ERROR);
      }
      reject(err);
    }

    function finish(): void {
      if (settled) return;
      try {
        if (!rawHeader) throw new ConnectError("protocol error: the stream ended without a response", Code.Internal);
        if (!okTrailer(rawTrailer)) validateTrailer(trailerOf(), headerOf());
        const message = parseUnary(req.method.output, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
        if (message === undefined) {
          if (headerError) throw headerError;
          throw new ConnectError(
            "protocol error: missing output message for unary method",
            trailerOf().has(headerGrpcStatus) ? Code.Unimplemented : Code.Unknown,
          );
        }
        if (headerError) {
          throw new ConnectError(
            "protocol error: received output message for unary method with error status",
            Code.Unknown,
          );
        }
        settled = true;
        if (listening) signal.removeEventListener("abort", onAbort);
        resolve({
          stream: false,
          service: req.service,
          method: req.method,
          get header(): Headers {
            return headerOf();
          },
          set header(value: Headers) {
            header = value;
          },
          message,
          get trailer(): Headers {
            return trailerOf();
          },
          set trailer(value: Headers) {
            trailer = value;
          },
        });
      } catch (err) {
        fail(ConnectError.from(err, Code.Internal));
      }
    }

    sessions.request("POST", path, headers, {}).then(
      (s) => {
        if (settled) {
          s.close(H2_CANCEL);
          return;
        }
        stream = s;
        s.on("response", (h) => {
          rawHeader = h;
          // The common answer (200, a gRPC content type, no status or encoding in the
          // headers) has nothing for validateResponse to find.
          if (okHeader(h)) return;
          const hs = headerOf();
          gotStatus = hs.has(headerGrpcStatus);
          try {
            headerError = validateResponse(Number(h[":status"]), hs).headerError;
            const encoding = hs.get("grpc-encoding");
            if (encoding !== null && encoding.toLowerCase() !== "identity") {
              throw new ConnectError(`unsupported response encoding "${encoding}"`, Code.Internal, hs);
            }
          } catch (err) {
            fail(ConnectError.from(err, Code.Internal));
          }
        });
        s.on("data", (chunk: Buffer) => {
          sessions.notifyResponseByteRead(s);
          chunks.push(chunk);
          received += chunk.length;
          if (!checkedLength && received >= 5) {
            checkedLength = true;
            const head = chunks.length === 1 ? chunk : Buffer.concat(chunks);
            const length = head.readUInt32BE(1);
            if (length > readMax) {
              fail(readMaxError(length, readMax));
            }
          }
        });
        s.on("trailers", (t) => {
          rawTrailer = t;
          trailer = undefined;
        });
        s.on("end", () => {
          ended = true;
          // Complete (trailers, or a trailers-only answer): done. Otherwise "close" tells why it ended.
          if (!gotStatus && rawTrailer?.["grpc-status"] === undefined) return;
          finish();
          // The server may answer (a refusal) before reading a large request whole: stop sending it.
          if (!s.closed && !s.writableFinished) s.close(H2_CANCEL);
        });
        s.on("error", (err) => {
          // The server answered and ended before the request was written whole: read its answer.
          if (s.writableEnded && codesOf(err).includes("ERR_STREAM_WRITE_AFTER_END")) return;
          // A reset by the server surfaces as an error first: map it by its RST_STREAM code.
          const reset = codesOf(err).includes("ERR_HTTP2_STREAM_ERROR") ? resetError(s.rstCode) : undefined;
          fail(reset ?? nodeError(err));
        });
        s.on("close", () => {
          if (settled) return;
          if (ended && (s.rstCode === undefined || s.rstCode === H2_NO_ERROR)) finish();
          else
            fail(
              resetError(s.rstCode) ??
                new ConnectError("protocol error: the stream closed before the response ended", Code.Internal),
            );
        });
        s.end(body);
      },
      (err: unknown) => fail(nodeError(err)),
    );
  });
}

/**
 * The request headers of a call that no interceptor looked at, as `node:http2` takes them:
 * what connect-es's `requestHeader` makes for a binary gRPC call with no headers of the
 * caller's, in the order its `Headers` iterates them (sorted), so the HPACK dynamic table
 * sees the same fields as through the `Headers` path.
 */
const BASE_WIRE_HEADERS: Readonly<http2.OutgoingHttpHeaders> = Object.freeze(
  wireHeaders(requestHeader(true, undefined, undefined)),
);

/** {@link BASE_WIRE_HEADERS} with a deadline's `grpc-timeout`, as `requestHeader` writes it. */
function wireHeadersWithTimeout(deadline: number): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const key in BASE_WIRE_HEADERS) {
    if (key > "grpc-timeout" && out["grpc-timeout"] === undefined) out["grpc-timeout"] = `${deadline}m`;
    out[key] = BASE_WIRE_HEADERS[key];
  }
  out["grpc-timeout"] ??= `${deadline}m`;
  return out;
}

/** Web `Headers` as `node:http2` request headers (in the order `Headers` iterates them). */
function wireHeaders(header: Headers): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  header.forEach((value, key) => {
    out[key] = value;
  });
  return out;
}

/**
 * The state behind a lean unary request's `header`: the `Headers` once something asked for
 * them (or set them), and the request they belong to (a copy an interceptor made with
 * spread syntax has its own `header`, read when it was copied).
 */
interface LazyHeader {
  owner: object | undefined;
  value: Headers | undefined;
  /** The call's deadline in ms, for `grpc-timeout`. */
  deadline: number | undefined;
}

const LAZY_HEADER = Symbol("baton.lazyHeader");

/**
 * A unary request whose `header` is made on first use: the same fields as connect-es's
 * requests (`header` an own, enumerable property, readable and writable, so interceptors
 * that read, set or spread it see what they always saw), but a call that no interceptor
 * asks about sends {@link BASE_WIRE_HEADERS} without building web `Headers` at all.
 */
function lazyUnaryRequest(
  url: string,
  method: DescMethod,
  deadline: number | undefined,
  header: Parameters<typeof requestHeader>[2],
  contextValues: ContextValues | undefined,
  signal: AbortSignal,
  message: unknown,
): UnaryRequest {
  const lazy: LazyHeader = { owner: undefined, value: undefined, deadline };
  const req = {
    stream: false as const,
    service: method.parent,
    method,
    requestMethod: "POST",
    url,
    signal,
    get header(): Headers {
      lazy.value ??= requestHeader(true, deadline, header);
      return lazy.value;
    },
    set header(value: Headers) {
      lazy.value = value;
    },
    contextValues: contextValues ?? createContextValues(),
    message,
    [LAZY_HEADER]: lazy,
  };
  // A caller's own headers go the `Headers` way: made now, so only the default case is lazy.
  if (header !== undefined) lazy.value = requestHeader(true, deadline, header);
  lazy.owner = req;
  return req as unknown as UnaryRequest;
}

/** The `node:http2` headers of a unary request: the prebuilt ones when nothing asked for `Headers`. */
function unaryWireHeaders(req: UnaryRequest): http2.OutgoingHttpHeaders {
  const lazy = (req as { [LAZY_HEADER]?: LazyHeader })[LAZY_HEADER];
  if (lazy !== undefined && lazy.owner === req && lazy.value === undefined) {
    return lazy.deadline === undefined ? BASE_WIRE_HEADERS : wireHeadersWithTimeout(lazy.deadline);
  }
  return wireHeaders(req.header);
}

/** The one message of a unary response body (gRPC envelopes), or undefined when there is none. */
function parseUnary<Desc extends DescMessage>(desc: Desc, buf: Buffer): MessageShape<Desc> | undefined {
  if (buf.length === 0) return undefined;
  if (buf.length < 5) throw new ConnectError("protocol error: incomplete envelope", Code.Internal);
  const flags = buf[0]!;
  const length = buf.readUInt32BE(1);
  if (buf.length < 5 + length) throw new ConnectError("protocol error: premature end of stream", Code.Internal);
  if (buf.length > 5 + length) {
    throw new ConnectError("protocol error: received extra output message for unary method", Code.Unimplemented);
  }
  if ((flags & 0b1) === 0b1) {
    throw new ConnectError("protocol error: received compressed output without an agreed encoding", Code.Internal);
  }
  try {
    return decodeBinary(desc, buf.subarray(5));
  } catch (err) {
    throw ConnectError.from(err, Code.Internal);
  }
}

/**
 * Whether response headers are a plain gRPC answer's: status 200, a gRPC content type as
 * servers write it, no status (not trailers-only) and no encoding but identity. For those,
 * connect-es's `validateResponse` finds no error and no status, so it need not run.
 */
function okHeader(h: http2.IncomingHttpHeaders): boolean {
  const type = h["content-type"];
  const encoding = h["grpc-encoding"];
  return (
    Number(h[":status"]) === 200 &&
    (type === "application/grpc" || type === "application/grpc+proto") &&
    h["grpc-status"] === undefined &&
    h["grpc-status-details-bin"] === undefined &&
    (encoding === undefined || encoding === "identity")
  );
}

/**
 * Whether trailers say OK with nothing else to check (`grpc-status: 0`, no status details),
 * which connect-es's `validateTrailer` accepts whatever the headers hold.
 */
function okTrailer(t: http2.IncomingHttpHeaders | undefined): boolean {
  return t !== undefined && t["grpc-status"] === "0" && t["grpc-status-details-bin"] === undefined;
}

/** Response headers or trailers as web `Headers`, without the pseudo-headers. */
function webHeaders(h: http2.IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const key in h) {
    if (key.charCodeAt(0) === 58 /* ":" */) continue;
    const value = h[key];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.append(key, v);
    else out.set(key, String(value));
  }
  return out;
}

/** The error of a stream reset by the server, by RST_STREAM code (as the gRPC spec maps them). */
function resetError(rstCode: number | undefined): ConnectError | undefined {
  if (rstCode === undefined || rstCode === H2_NO_ERROR) return undefined;
  const code =
    rstCode === H2_REFUSED_STREAM
      ? Code.Unavailable
      : rstCode === H2_CANCEL
        ? Code.Canceled
        : rstCode === H2_ENHANCE_YOUR_CALM
          ? Code.ResourceExhausted
          : rstCode === H2_INADEQUATE_SECURITY || rstCode === H2_HTTP_1_1_REQUIRED
            ? Code.PermissionDenied
            : Code.Internal;
  const name = H2_CODE_NAMES[rstCode] ?? "UNKNOWN";
  return new ConnectError(`http/2 stream closed with error code ${name} (0x${rstCode.toString(16)})`, code);
}
