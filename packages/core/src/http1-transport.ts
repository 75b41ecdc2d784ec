import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import {
  appendHeaders,
  Code,
  ConnectError,
  type Interceptor,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import * as connect from "@connectrpc/connect/protocol-connect";
import * as grpcWeb from "@connectrpc/connect/protocol-grpc-web";
import type { Dispatcher } from "undici";
import { decodeBinary } from "./decode.js";
import {
  codesOf,
  eagerUnaryRequest,
  encodeEnvelope,
  encodeMessage,
  leanUnary,
  MAX_ENVELOPE,
  NEVER,
  nodeError,
  type RequestHeaderOf,
  readMaxError,
  withInterceptors,
  wrongOriginError,
} from "./lean-call.js";

/** The protocols {@link createLeanHttp1Transport} carries unary calls of. */
export type Http1Protocol = "grpc-web" | "connect";

/** What {@link createLeanHttp1Transport} needs. */
export interface LeanHttp1TransportOptions {
  /** `grpc-web` (`application/grpc-web+proto`) or `connect` (`application/proto`). */
  protocol: Http1Protocol;
  /** Base URL of the server (`http://host:port`, `https://…`, with an optional path prefix). */
  baseUrl: string;
  /** The keep-alive HTTP/1.1 socket pool of the address (undici's `Pool`), shared by every call. */
  pool: Dispatcher;
  /** What carries every call that is not unary (server, client and bidi streams): connect-node's transport. */
  streams: Transport;
  /** connect-es interceptors, the first one outermost (as connect-es runs them). */
  interceptors?: Interceptor[];
  /** Largest message accepted, in bytes. Default 4 GiB - 1. */
  readMaxBytes?: number;
  /** Largest message sent, in bytes. Default 4 GiB - 1. */
  writeMaxBytes?: number;
}

/**
 * A connect-es `Transport` for unary gRPC-Web or Connect calls over HTTP/1.1: each call is one
 * request dispatched straight to the address's undici pool with a handler of its own, the
 * protobuf request written in one body with its length, the answer collected from the
 * handler's callbacks and read whole, with no `node:http` request, no stream or web-stream
 * wrapper around the body, no async-iterable pipeline, and no `AbortController` unless the
 * call has a deadline (a caller's signal is used as it is). Streams of every kind go through
 * `streams` (connect-node's transport for the protocol).
 *
 * Same wire behaviour as connect-node's, through connect-es's own protocol helpers:
 * - gRPC-Web: `x-grpc-web: 1`, `grpc-timeout`, one request envelope; the response's data
 *   envelope then its trailer envelope (`grpc-status`, percent-encoded `grpc-message`,
 *   `grpc-status-details-bin`), or a trailers-only answer with the status in the headers; an
 *   HTTP status outside 2xx mapped as connect-es maps it (`validateResponse`).
 * - Connect: `connect-protocol-version: 1`, `connect-timeout-ms`, the message as the body;
 *   trailers from `trailer-` headers; a non-200 answer's JSON error (`code`, `message`,
 *   `details`), or the HTTP status's code when it has none.
 *
 * It asks for no compression and refuses a compressed response (INTERNAL). A message over
 * `readMaxBytes` fails with RESOURCE_EXHAUSTED as soon as its size is known (an envelope's
 * prefix, a `content-length`, or the bytes so far), and the request is aborted, so no more of
 * it is buffered; one over `writeMaxBytes` is refused before anything is sent. A deadline
 * fails the call with DEADLINE_EXCEEDED and a signal with CANCELED; both abort the request,
 * which closes its socket (HTTP/1.1 has no other way to cancel one). A connection that closes
 * before the answer is whole fails the call with UNAVAILABLE. Interceptors see `req.signal` as
 * the caller's signal, or the deadline's.
 */
export function createLeanHttp1Transport(options: LeanHttp1TransportOptions): Transport {
  const { baseUrl, pool, streams } = options;
  const readMax = options.readMaxBytes ?? MAX_ENVELOPE;
  const writeMax = options.writeMaxBytes ?? MAX_ENVELOPE;
  const origin = new URL(baseUrl).origin;
  const wire = options.protocol === "grpc-web" ? grpcWebWire : connectWire;
  const run = withInterceptors(options.interceptors ?? [], (req: UnaryRequest) =>
    dispatchUnary(pool, origin, req, wire, readMax, writeMax),
  );
  return {
    unary: leanUnary(baseUrl, eagerUnaryRequest(wire.header), run),
    stream: (method, signal, timeoutMs, header, input, contextValues) =>
      streams.stream(method, signal, timeoutMs, header, input, contextValues),
  };
}

/** A response read so far: its status and headers, and a check of each byte that arrives. */
interface UnaryReader {
  /** Checks the status and headers as soon as they are in; throws to fail the call there. */
  head(status: number, header: Headers): void;
  /** Checks the body so far (`received` bytes in `chunks`): an error fails the call at once. */
  data(chunks: Buffer[], received: number): ConnectError | undefined;
  /** The call's answer from the whole body; throws the call's error. */
  finish(req: UnaryRequest, body: Buffer): UnaryResponse;
}

/** How one protocol puts a unary call on the wire. */
interface UnaryWire {
  /** The request headers. */
  header: RequestHeaderOf;
  /** The request body, refused over `writeMax` with RESOURCE_EXHAUSTED. */
  body(req: UnaryRequest, writeMax: number): Uint8Array;
  /** A reader for one response. */
  reader(readMax: number): UnaryReader;
}

/**
 * Sends one unary request on the pool and reads its answer whole. The handler's callbacks
 * are the whole exchange: no stream is made for the response body.
 */
function dispatchUnary(
  pool: Dispatcher,
  origin: string,
  req: UnaryRequest,
  wire: UnaryWire,
  readMax: number,
  writeMax: number,
): Promise<UnaryResponse> {
  const signal = req.signal;
  if (signal.aborted) return Promise.reject(ConnectError.from(signal.reason, Code.Canceled));
  let body: Uint8Array;
  try {
    body = wire.body(req, writeMax);
  } catch (err) {
    return Promise.reject(ConnectError.from(err, Code.Internal));
  }
  if (!req.url.startsWith(origin)) return Promise.reject(wrongOriginError(req.url, origin, "HTTP/1.1 pool"));
  const path = req.url.slice(origin.length);
  const headers = poolHeaders(req.header);
  const reader = wire.reader(readMax);
  return new Promise<UnaryResponse>((resolve, reject) => {
    let settled = false;
    let abort: ((err?: Error) => void) | undefined;
    let headed = false;
    const chunks: Buffer[] = [];
    let received = 0;

    const onAbort = () => fail(ConnectError.from(signal.reason, Code.Canceled));
    const listening = signal !== NEVER;
    if (listening) signal.addEventListener("abort", onAbort, { once: true });

    /** Fails the call and aborts its request (the pool then closes the socket). */
    function fail(err: ConnectError): void {
      if (settled) return;
      settled = true;
      if (listening) signal.removeEventListener("abort", onAbort);
      reject(err);
      abort?.(err);
    }

    const handler: Dispatcher.DispatchHandlers = {
      onConnect(a) {
        if (settled) a();
        else abort = a;
      },
      onHeaders(statusCode, raw) {
        if (settled) return false;
        // 1xx informational answers: the response follows.
        if (statusCode < 200) return true;
        headed = true;
        try {
          reader.head(statusCode, headersOf(raw));
        } catch (err) {
          fail(ConnectError.from(err, Code.Internal));
          return false;
        }
        return true;
      },
      onData(chunk) {
        if (settled) return false;
        chunks.push(chunk);
        received += chunk.length;
        const err = reader.data(chunks, received);
        if (err) {
          fail(err);
          return false;
        }
        return true;
      },
      onComplete() {
        if (settled) return;
        settled = true;
        if (listening) signal.removeEventListener("abort", onAbort);
        let outcome: UnaryResponse | ConnectError;
        try {
          if (!headed) throw new ConnectError("protocol error: the request ended without a response", Code.Internal);
          outcome = reader.finish(req, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received));
        } catch (err) {
          outcome = ConnectError.from(err, Code.Internal);
        }
        // The pool takes the socket back only on the loop's next check phase (undici's
        // setImmediate, scheduled once this callback returns): answering after it lets the
        // caller's next request reuse the socket instead of the pool dialing another one.
        queueMicrotask(() =>
          setImmediate(() => (outcome instanceof ConnectError ? reject(outcome) : resolve(outcome))),
        );
      },
      onError(err) {
        fail(poolError(err));
      },
    };
    pool.dispatch({ path, method: "POST", headers, body }, handler);
  });
}

/**
 * An error of the pool as the call's error: the connection closing before the answer is
 * whole (undici's `SocketError`) is UNAVAILABLE, the pool itself closed is CANCELED, and the
 * rest is mapped as connect-node maps Node errors (the original as the cause).
 */
function poolError(err: unknown): ConnectError {
  const codes = codesOf(err);
  if (codes.includes("UND_ERR_SOCKET")) {
    return new ConnectError(
      "the connection closed before the response ended",
      Code.Unavailable,
      undefined,
      undefined,
      err,
    );
  }
  if (codes.includes("UND_ERR_DESTROYED") || codes.includes("UND_ERR_CLOSED")) {
    return new ConnectError("the connection was closed", Code.Canceled, undefined, undefined, err);
  }
  return nodeError(err);
}

/** Response headers (undici's raw name/value pairs) as web `Headers`, in `node:http`'s latin1. */
function headersOf(raw: Buffer[]): Headers {
  const out = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) out.append(raw[i]!.toString("latin1"), raw[i + 1]!.toString("latin1"));
  return out;
}

/** Hop-by-hop request headers, which the pool sets itself (with `content-length`). */
export const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "host",
  "proxy-connection",
]);

/** The headers of a request to the pool: hop-by-hop ones and `content-length` left to undici. */
export function poolHeaders(entries: Iterable<[string, string]>): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [key, value] of entries) {
    const k = key.toLowerCase();
    if (!HOP_BY_HOP.has(k) && k !== "content-length") headers[k] = value;
  }
  return headers;
}

/** Decodes a protobuf message of a response, a malformed one failing with INTERNAL. */
function decode<Desc extends DescMessage>(desc: Desc, bytes: Uint8Array): MessageShape<Desc> {
  try {
    return decodeBinary(desc, bytes);
  } catch (err) {
    throw ConnectError.from(err, Code.Internal);
  }
}

/** The encoding header of a response, refused (INTERNAL) when it is not identity: no compression was asked for. */
function refuseEncoding(header: Headers, name: string): void {
  const encoding = header.get(name);
  if (encoding !== null && encoding.toLowerCase() !== "identity") {
    throw new ConnectError(`unsupported response encoding "${encoding}"`, Code.Internal, header);
  }
}

const COMPRESSED = 0b1;

/** The 5-byte envelope prefix at `offset` of the body so far: flags and length. */
function prefixAt(chunks: Buffer[], offset: number): { flags: number; length: number } {
  let at = offset;
  for (const c of chunks) {
    if (at < c.length) {
      if (at + 5 <= c.length) return { flags: c[at]!, length: c.readUInt32BE(at + 1) };
      break;
    }
    at -= c.length;
  }
  const head = Buffer.concat(chunks).subarray(offset, offset + 5);
  return { flags: head[0]!, length: head.readUInt32BE(1) };
}

/**
 * gRPC-Web: one envelope each way; the answer's trailer is an envelope of its own (flag 0x80).
 * Decided as connect-es's gRPC-Web transport decides: the same helpers, the same order.
 */
const grpcWebWire: UnaryWire = {
  header: (deadline, header) => grpcWeb.requestHeader(true, deadline, header, true),
  body: (req, writeMax) => encodeEnvelope(req.method.input, req.message, writeMax),
  reader(readMax) {
    let header = new Headers();
    let headerError: ConnectError | undefined;
    /** Where the next envelope starts, and which kinds came before it. */
    let next = 0;
    let sawMessage = false;
    let sawTrailer = false;
    return {
      head(status, h) {
        header = h;
        headerError = grpcWeb.validateResponse(status, h).headerError;
        refuseEncoding(h, grpcWeb.headerEncoding);
      },
      data(chunks, received) {
        // Each envelope is checked as its prefix arrives: over readMaxBytes, or one kind twice
        // (a unary answer has one message and one trailer), fails before more is buffered.
        for (let i = 0; i < 3 && received >= next + 5; i++) {
          const { flags, length } = prefixAt(chunks, next);
          if (length > readMax) return readMaxError(length, readMax);
          if ((flags & grpcWeb.trailerFlag) === grpcWeb.trailerFlag) {
            if (sawTrailer) return new ConnectError("protocol error: received extra trailer", Code.Unimplemented);
            sawTrailer = true;
          } else {
            if (sawMessage) {
              return new ConnectError(
                "protocol error: received extra output message for unary method",
                Code.Unimplemented,
              );
            }
            sawMessage = true;
          }
          next += 5 + length;
        }
        return undefined;
      },
      finish(req, body) {
        let message: unknown;
        let trailer: Headers | undefined;
        for (let off = 0; off < body.length; ) {
          if (body.length - off < 5 || body.length - off < 5 + body.readUInt32BE(off + 1)) {
            throw new ConnectError("protocol error: incomplete envelope", Code.InvalidArgument);
          }
          const flags = body[off]!;
          const end = off + 5 + body.readUInt32BE(off + 1);
          if ((flags & COMPRESSED) === COMPRESSED) {
            throw new ConnectError("received compressed envelope, but do not know how to decompress", Code.Internal);
          }
          const data = body.subarray(off + 5, end);
          if ((flags & grpcWeb.trailerFlag) === grpcWeb.trailerFlag) trailer = grpcWeb.trailerParse(data);
          else message = decode(req.method.output, data);
          off = end;
        }
        if (trailer === undefined) {
          if (headerError !== undefined) throw headerError;
          throw new ConnectError(
            "protocol error: missing trailer",
            header.has(grpcWeb.headerGrpcStatus) ? Code.Unimplemented : Code.Unknown,
          );
        }
        grpcWeb.validateTrailer(trailer, header);
        if (message === undefined) {
          throw new ConnectError(
            "protocol error: missing output message for unary method",
            trailer.has(grpcWeb.headerGrpcStatus) ? Code.Unimplemented : Code.Unknown,
          );
        }
        return { stream: false, service: req.service, method: req.method, header, message, trailer } as UnaryResponse;
      },
    };
  },
};

/**
 * Connect: the message is the body each way; trailers travel as `trailer-` headers, and an
 * error as a JSON body on a non-200 answer. Decided as connect-es's Connect transport decides.
 */
const connectWire: UnaryWire = {
  header: (deadline, header) => connect.requestHeader("unary", true, deadline, header, true),
  body: (req, writeMax) => encodeMessage(req.method.input, req.message, writeMax),
  reader(readMax) {
    let header = new Headers();
    let unaryError: ConnectError | undefined;
    return {
      head(status, h) {
        header = h;
        refuseEncoding(h, connect.headerUnaryEncoding);
        const v = connect.validateResponse("unary", true, status, h);
        if (v.isUnaryError) unaryError = v.unaryError;
        const length = h.get(connect.headerUnaryContentLength);
        if (length !== null && Number(length) > readMax) throw readMaxError(Number(length), readMax);
      },
      data(_chunks, received) {
        if (received <= readMax) return undefined;
        return new ConnectError(
          `message size is larger than configured readMaxBytes ${readMax}`,
          Code.ResourceExhausted,
        );
      },
      finish(req, body) {
        const [h, trailer] = connect.trailerDemux(header);
        if (unaryError !== undefined) throw connect.errorFromJsonBytes(body, appendHeaders(h, trailer), unaryError);
        const message = decode(req.method.output, body);
        return {
          stream: false,
          service: req.service,
          method: req.method,
          header: h,
          message,
          trailer,
        } as UnaryResponse;
      },
    };
  },
};
