import { create, type DescMessage, type DescMethod, isMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  createContextValues,
  type Interceptor,
  type Transport,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import { createMethodUrl } from "@connectrpc/connect/protocol";

// What Baton's lean transports (gRPC over HTTP/2, gRPC-Web and Connect over HTTP/1.1) share:
// the unary call's signal and deadline, the request base, the interceptor chain, envelopes,
// message limits and the mapping of Node errors.

/** The largest message a gRPC envelope can carry (its length is 32 bits). */
export const MAX_ENVELOPE = 0xffffffff;

/** The signal of calls given neither a signal nor a deadline: never aborts, costs nothing per call. */
export const NEVER: AbortSignal = new AbortController().signal;

/** The request headers of a protocol, from a call's deadline (ms, if any) and its own headers. */
export type RequestHeaderOf = (deadline: number | undefined, header: Parameters<Transport["unary"]>[3]) => Headers;

/**
 * Builds a lean transport's unary request: the call's URL (made once per method), its
 * deadline (ms, if any), the caller's headers, context values, the call's signal and its
 * message. A transport may make `header` lazily (see grpc-transport.ts).
 */
export type UnaryRequestOf = (
  url: string,
  method: DescMethod,
  deadline: number | undefined,
  header: Parameters<Transport["unary"]>[3],
  contextValues: ContextValues | undefined,
  signal: AbortSignal,
  message: unknown,
) => UnaryRequest;

/** A {@link UnaryRequestOf} that makes the request's `Headers` at once, with `headerOf`. */
export function eagerUnaryRequest(headerOf: RequestHeaderOf): UnaryRequestOf {
  return (url, method, deadline, header, contextValues, signal, message) =>
    ({
      service: method.parent,
      method,
      requestMethod: "POST",
      url,
      header: headerOf(deadline, header),
      contextValues: contextValues ?? createContextValues(),
      stream: false as const,
      signal,
      message,
    }) as UnaryRequest;
}

/**
 * The `unary` method of a lean transport: the caller's signal as it is, an `AbortController`
 * only when the call has a deadline (aborted with DEADLINE_EXCEEDED when it passes, or with
 * the caller's reason), each method's URL made once, the request built once by `requestOf`,
 * then `run` (the interceptor chain around the wire exchange). Without a deadline the
 * promise of `run` is returned as it is (no async wrapper); errors thrown before it are
 * rejections, as from an async function.
 */
export function leanUnary(
  baseUrl: string,
  requestOf: UnaryRequestOf,
  run: (req: UnaryRequest) => Promise<UnaryResponse>,
): Transport["unary"] {
  const urls = new WeakMap<DescMethod, string>();
  return (method, signal, timeoutMs, header, input, contextValues) => {
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
    type Res = UnaryResponse<typeof method.input, typeof method.output>;
    let res: Promise<Res>;
    try {
      const message: MessageShape<typeof method.input> = isMessage(input, method.input)
        ? input
        : create(method.input, input);
      let url = urls.get(method);
      if (url === undefined) {
        url = createMethodUrl(baseUrl, method);
        urls.set(method, url);
      }
      res = run(requestOf(url, method, deadline, header, contextValues, callSignal, message)) as Promise<Res>;
    } catch (err) {
      finish?.();
      return Promise.reject(err);
    }
    return finish === undefined ? res : res.finally(finish);
  };
}

/** What every request of a lean transport carries, unary or stream. */
export function requestBase(
  baseUrl: string,
  method: DescMethod,
  header: Headers,
  contextValues: ContextValues | undefined,
) {
  return {
    service: method.parent,
    method,
    requestMethod: "POST",
    url: createMethodUrl(baseUrl, method),
    header,
    contextValues: contextValues ?? createContextValues(),
  };
}

/** `send` wrapped in connect-es interceptors, the first one outermost (as connect-es runs them). */
export function withInterceptors<Req, Res>(interceptors: Interceptor[], send: (req: Req) => Promise<Res>) {
  let chain = send;
  for (const interceptor of [...interceptors].reverse()) {
    chain = interceptor(chain as unknown as Parameters<Interceptor>[0]) as unknown as typeof chain;
  }
  return chain;
}

/** One message in protobuf binary, refused over `writeMax` with RESOURCE_EXHAUSTED. */
export function encodeMessage<Desc extends DescMessage>(
  desc: Desc,
  message: MessageShape<Desc>,
  writeMax: number,
): Uint8Array {
  const bytes = toBinary(desc, message);
  if (bytes.byteLength > writeMax) {
    throw new ConnectError(
      `message size ${bytes.byteLength} is larger than configured writeMaxBytes ${writeMax}`,
      Code.ResourceExhausted,
    );
  }
  return bytes;
}

/** One message as a gRPC envelope (uncompressed), refused over `writeMax` with RESOURCE_EXHAUSTED. */
export function encodeEnvelope<Desc extends DescMessage>(
  desc: Desc,
  message: MessageShape<Desc>,
  writeMax: number,
): Buffer {
  const bytes = encodeMessage(desc, message, writeMax);
  const env = Buffer.allocUnsafe(5 + bytes.byteLength);
  env[0] = 0;
  env.writeUInt32BE(bytes.byteLength, 1);
  env.set(bytes, 5);
  return env;
}

/** RESOURCE_EXHAUSTED for a received message of `length` bytes over `readMax`, as connect-es words it. */
export function readMaxError(length: number, readMax: number): ConnectError {
  return new ConnectError(
    `message size ${length} is larger than configured readMaxBytes ${readMax}`,
    Code.ResourceExhausted,
  );
}

/** The error of a request whose URL an interceptor moved off the connection's origin. */
export function wrongOriginError(url: string, origin: string, what: string): ConnectError {
  return new ConnectError(`cannot make a request to ${url}: the ${what} is connected to ${origin}`, Code.Internal);
}

/** The `code` strings of an error and its causes, outermost first (at most 8 deep). */
export function codesOf(err: unknown): string[] {
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
export function nodeError(err: unknown): ConnectError {
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
