import type * as http2 from "node:http2";
import { create, type DescMessage, fromBinary, isMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  type Interceptor,
  type StreamResponse,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { createMethodUrl } from "@connectrpc/connect/protocol";
import { headerGrpcStatus, requestHeader, validateResponse, validateTrailer } from "@connectrpc/connect/protocol-grpc";
import { createGrpcTransport, type Http2SessionManager } from "@connectrpc/connect-node";

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

const MAX_ENVELOPE = 0xffffffff;
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

/** The signal of calls given neither a signal nor a deadline: never aborts, costs nothing per call. */
const NEVER: AbortSignal = new AbortController().signal;

/**
 * A connect-es `Transport` for gRPC over HTTP/2 made for unary calls: each call is one
 * `node:http2` stream on the address's shared session, its request written in one frame
 * and its response read straight from the stream's events. No async-iterable pipeline,
 * and no `AbortController` unless the call has a deadline (a caller's signal is used as it
 * is). Streaming calls go through connect-node's gRPC transport on the same session.
 *
 * Same wire behaviour as connect-node's: `grpc-timeout`, `te: trailers`, trailers and
 * trailers-only responses, `grpc-status-details-bin` details, HTTP status and RST_STREAM
 * codes mapped as connect-node maps them, cancellation as RST_STREAM CANCEL, message limits
 * both ways (RESOURCE_EXHAUSTED). It asks for no compression and refuses a compressed
 * response (INTERNAL). Interceptors see `req.signal` as the caller's signal, or the
 * deadline's; it is not aborted when the call ends.
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
  const send = (req: UnaryRequest) => unaryOverStream(sessions, origin, req, readMax, writeMax);
  let chain = send as (req: UnaryRequest) => Promise<UnaryResponse>;
  for (const interceptor of [...interceptors].reverse()) {
    chain = interceptor(chain as Parameters<Interceptor>[0]) as unknown as typeof chain;
  }
  const run = chain;
  return {
    async unary(method, signal, timeoutMs, header, input, contextValues) {
      const deadline = timeoutMs !== undefined && timeoutMs > 0 ? timeoutMs : undefined;
      let callSignal = signal ?? NEVER;
      let finish: (() => void) | undefined;
      if (deadline !== undefined) {
        const controller = new AbortController();
        const timer = setTimeout(
          () => controller.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded)),
          deadline,
        );
        const onAbort = () => controller.abort(signal?.reason);
        if (signal?.aborted) onAbort();
        else signal?.addEventListener("abort", onAbort, { once: true });
        callSignal = controller.signal;
        finish = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
        };
      }
      const req = {
        stream: false as const,
        service: method.parent,
        method,
        requestMethod: "POST",
        url: createMethodUrl(baseUrl, method),
        header: requestHeader(true, deadline, header),
        contextValues: contextValues ?? createContextValues(),
        signal: callSignal,
        message: isMessage(input, method.input) ? input : create(method.input, input),
      } as UnaryRequest<typeof method.input, typeof method.output>;
      try {
        return (await run(req)) as UnaryResponse<typeof method.input, typeof method.output>;
      } finally {
        finish?.();
      }
    },
    stream(method, signal, timeoutMs, header, input, contextValues) {
      return streaming.stream(method, signal, timeoutMs, header, input, contextValues) as Promise<
        StreamResponse<typeof method.input, typeof method.output>
      >;
    },
  };
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
    const bytes = toBinary(req.method.input, req.message);
    if (bytes.byteLength > writeMax) {
      throw new ConnectError(
        `message size ${bytes.byteLength} is larger than configured writeMaxBytes ${writeMax}`,
        Code.ResourceExhausted,
      );
    }
    body = Buffer.allocUnsafe(5 + bytes.byteLength);
    body[0] = 0;
    body.writeUInt32BE(bytes.byteLength, 1);
    body.set(bytes, 5);
  } catch (err) {
    return Promise.reject(ConnectError.from(err, Code.Internal));
  }
  if (!req.url.startsWith(origin)) {
    return Promise.reject(
      new ConnectError(
        `cannot make a request to ${req.url}: the http2 session is connected to ${origin}`,
        Code.Internal,
      ),
    );
  }
  const path = req.url.slice(origin.length);
  const headers: http2.OutgoingHttpHeaders = {};
  req.header.forEach((value, key) => {
    headers[key] = value;
  });
  return new Promise<UnaryResponse>((resolve, reject) => {
    let stream: http2.ClientHttp2Stream | undefined;
    let settled = false;
    let header: Headers | undefined;
    let headerError: ConnectError | undefined;
    let trailer = new Headers();
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
        if (!header) throw new ConnectError("protocol error: the stream ended without a response", Code.Internal);
        validateTrailer(trailer, header);
        const message = parseUnary(req.method.output, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
        if (message === undefined) {
          if (headerError) throw headerError;
          throw new ConnectError(
            "protocol error: missing output message for unary method",
            trailer.has(headerGrpcStatus) ? Code.Unimplemented : Code.Unknown,
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
        resolve({ stream: false, service: req.service, method: req.method, header, message, trailer });
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
          header = webHeaders(h);
          gotStatus = header.has(headerGrpcStatus);
          try {
            headerError = validateResponse(Number(h[":status"]), header).headerError;
            const encoding = header.get("grpc-encoding");
            if (encoding !== null && encoding.toLowerCase() !== "identity") {
              throw new ConnectError(`unsupported response encoding "${encoding}"`, Code.Internal, header);
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
              fail(
                new ConnectError(
                  `message size ${length} is larger than configured readMaxBytes ${readMax}`,
                  Code.ResourceExhausted,
                ),
              );
            }
          }
        });
        s.on("trailers", (t) => {
          trailer = webHeaders(t);
        });
        s.on("end", () => {
          ended = true;
          // Complete (trailers, or a trailers-only answer): done. Otherwise "close" tells why it ended.
          if (!gotStatus && !trailer.has(headerGrpcStatus)) return;
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
    return fromBinary(desc, buf.subarray(5));
  } catch (err) {
    throw ConnectError.from(err, Code.Internal);
  }
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

function codesOf(err: unknown): string[] {
  const codes: string[] = [];
  let e: unknown = err;
  for (let depth = 0; depth < 8 && e instanceof Error; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") codes.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

/** A Node socket or stream error as connect-node reports it (the original as its cause). */
function nodeError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  const codes = codesOf(err);
  let code = Code.Internal;
  if (
    codes.some((c) =>
      ["ERR_STREAM_WRITE_AFTER_END", "ERR_STREAM_DESTROYED", "ERR_HTTP2_INVALID_STREAM", "ECONNRESET"].includes(c),
    )
  ) {
    code = Code.Aborted;
  } else if (codes.some((c) => ["ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED"].includes(c))) {
    code = Code.Unavailable;
  }
  const ce = ConnectError.from(err, code);
  if (ce !== err) ce.cause = err;
  return ce;
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
