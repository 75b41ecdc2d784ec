import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { type Logger, silentLogger } from "@baton/core";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/** The header carrying a request's id: the caller's, or one the server makes. */
export const REQUEST_ID_HEADER = "x-request-id";

/** What one request log line says. */
export interface RequestLogFields {
  /** `grpc`, `grpc-web`, `connect` or `rest`. */
  protocol: string;
  /** gRPC: `package.Service/Method`; REST: the operation id (or `METHOD /path` when none matched). */
  method: string;
  /** gRPC: the status code name (`OK`, `NOT_FOUND`, ...). */
  code?: string;
  /** REST: the HTTP status. */
  status?: number;
  /** Milliseconds from the request's arrival to its end (a stream's last message). */
  ms: number;
  /** The request's id (the `x-request-id` the caller sent, or a new one). */
  requestId: string;
}

/** The request's id: the caller's `x-request-id` (trimmed, at most 200 characters) or a new UUID. */
export function requestIdOf(header: string | null | undefined): string {
  const id = header?.trim().slice(0, 200);
  return id ? id : randomUUID();
}

/** A timer for one request: milliseconds since it was made, to a tenth. */
export function stopwatch(): () => number {
  const t0 = performance.now();
  return () => Math.round((performance.now() - t0) * 10) / 10;
}

const DROPPED: unique symbol = Symbol("baton.logDropped");

/**
 * A log method that writes nothing, marked so that the request log knows its lines would be
 * dropped and skips building them (the timer, the fields, a stream's wrapper). A logger
 * below info level uses it for `info` (`baton-server --quiet`).
 */
export function droppedLogMethod(): Logger["info"] {
  return Object.assign(() => {}, { [DROPPED]: true });
}

/** Whether `logger` drops info lines: {@link silentLogger}'s, or a {@link droppedLogMethod}. */
export function dropsInfo(logger: Logger): boolean {
  const info = logger.info as Logger["info"] & { [DROPPED]?: boolean };
  return info === silentLogger.info || info[DROPPED] === true;
}

/** Writes one request log line at info level. */
export function logRequest(logger: Logger, fields: RequestLogFields): void {
  logger.info("request", { ...fields });
}

/** The RPC protocol a request's content type names: `grpc`, `grpc-web` or `connect`. */
export function protocolOf(contentType: string | null): string {
  const type = contentType?.toLowerCase() ?? "";
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  return "connect";
}

/** A gRPC code as gRPC names it: `Code.DeadlineExceeded` is `DEADLINE_EXCEEDED`, 0 is `OK`. */
export function codeName(code: Code | undefined): string {
  if (code === undefined) return "OK";
  return (Code[code] ?? String(code)).replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/**
 * Logs one line per gRPC/gRPC-Web/Connect call (method, code, ms, request id) when it ends:
 * a unary call when it is answered, a stream when its last message is sent, it fails, or
 * the caller cancels it. The request id is the caller's `x-request-id` or a new one, set on
 * the request (so handlers that echo it use the same) and on a successful answer's
 * headers. Put it first, so it sees what the other interceptors refuse.
 */
export function requestLogInterceptor(logger: Logger): Interceptor {
  // With the lines dropped, only the request id is left to do.
  if (dropsInfo(logger))
    return (next) => async (req) => {
      const requestId = requestIdOf(req.header.get(REQUEST_ID_HEADER));
      req.header.set(REQUEST_ID_HEADER, requestId);
      const res = await next(req);
      res.header.set(REQUEST_ID_HEADER, requestId);
      return res;
    };
  return (next) => async (req) => {
    const elapsed = stopwatch();
    const requestId = requestIdOf(req.header.get(REQUEST_ID_HEADER));
    // Handlers that echo the id (Stratavore's) then use this one too.
    req.header.set(REQUEST_ID_HEADER, requestId);
    const done = (code: Code | undefined) =>
      logRequest(logger, {
        protocol: protocolOf(req.header.get("content-type")),
        method: `${req.service.typeName}/${req.method.name}`,
        code: codeName(code),
        ms: elapsed(),
        requestId,
      });
    // Why a call ended without an error: the caller went away, or it finished.
    const endCode = () => (req.signal.aborted ? ConnectError.from(req.signal.reason, Code.Canceled).code : undefined);
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (err) {
      done(ConnectError.from(err).code);
      throw err;
    }
    res.header.set(REQUEST_ID_HEADER, requestId);
    if (!res.stream) {
      done(undefined);
      return res;
    }
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        let code: Code | undefined;
        try {
          yield* messages;
          code = endCode();
        } catch (err) {
          code = ConnectError.from(err).code;
          throw err;
        } finally {
          // A stream the server stopped reading (the caller went away) ends here too.
          done(code ?? endCode());
        }
      })(),
    };
  };
}
