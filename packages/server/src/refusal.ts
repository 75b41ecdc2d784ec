import type { OutgoingHttpHeaders } from "node:http";
import { type Code, ConnectError } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import { endStreamFlag, endStreamToJson, errorToJsonBytes } from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { trailerFlag, trailerSerialize } from "@connectrpc/connect/protocol-grpc-web";
import type { AnyRequest, AnyResponse } from "./module.js";

/** The protocols a request may speak, told apart by its content type (and, for Connect GET, its query). */
export type WireProtocol = "grpc" | "grpc-web" | "connect-unary" | "connect-stream" | "rest";

/**
 * The protocol of a request from its method, content type and URL: `application/grpc*` is
 * gRPC, `application/grpc-web*` gRPC-Web, `application/connect+*` a Connect stream,
 * `application/proto` / `application/json` POSTs to a `/package.Service/Method` path and
 * `GET …?connect=v1` Connect unary; everything else is REST.
 */
export function wireProtocolOf(method: string | undefined, contentType: string | undefined, url: string): WireProtocol {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  if (type.startsWith("application/connect+")) return "connect-stream";
  const [path = "", query = ""] = url.split("?", 2);
  if (!PROCEDURE_PATH.test(path)) return "rest";
  if (method === "GET") return /(?:^|&)connect=v1(?:&|$)/.test(query) ? "connect-unary" : "rest";
  if (method === "POST" && (type === "application/proto" || type === "application/json")) return "connect-unary";
  return "rest";
}

/** `/package.Service/Method`, the path of every RPC. */
const PROCEDURE_PATH = /^\/[A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)+\/[A-Za-z_][\w]*$/;

/** What a refusal says: the RPC code for RPC protocols, the HTTP status and title for REST. */
export interface Refusal {
  /** The gRPC/Connect code RPC clients get. */
  code: Code;
  /** The HTTP status REST clients get (and Connect unary, when given; else Connect's own mapping). */
  status: number;
  /** The problem title (`Request Header Fields Too Large`). */
  title: string;
  /** What went wrong, for people. */
  detail: string;
}

/** A response ready to write: status, headers and body (trailers ride in the headers: trailers-only). */
export interface RefusalResponse {
  /** The HTTP status: 200 for gRPC, gRPC-Web and Connect streams (the code rides in the body or trailers); the refusal's own otherwise. */
  status: number;
  /** Response headers; for gRPC and gRPC-Web they carry `grpc-status`/`grpc-message` (trailers-only). */
  headers: Record<string, string>;
  /** The body: empty for gRPC, a trailer frame for gRPC-Web, an end-stream message for Connect streams, JSON for Connect unary, problem+json for REST. */
  body: Uint8Array;
}

/**
 * Renders a refusal in the request's protocol: gRPC and gRPC-Web a trailers-only HTTP 200
 * with `grpc-status`/`grpc-message`; a Connect stream an HTTP 200 end-stream message; Connect
 * unary its JSON error with the HTTP status of `status`; REST an `application/problem+json`
 * body (RFC 9457).
 */
export function renderRefusal(protocol: WireProtocol, contentType: string | undefined, r: Refusal): RefusalResponse {
  const error = new ConnectError(r.detail, r.code);
  switch (protocol) {
    case "grpc":
    case "grpc-web": {
      const trailer = new Headers();
      setTrailerStatus(trailer, error);
      const headers: Record<string, string> = { "content-type": contentType ?? `application/${protocol}+proto` };
      trailer.forEach((value, key) => {
        headers[key] = value;
      });
      if (protocol === "grpc") return { status: 200, headers, body: new Uint8Array(0) };
      // gRPC-Web clients read the status from the trailer frame; the headers say it too.
      return { status: 200, headers, body: encodeEnvelope(trailerFlag, trailerSerialize(trailer)) };
    }
    case "connect-stream": {
      const json = JSON.stringify(endStreamToJson(new Headers(), error, undefined));
      return {
        status: 200,
        headers: { "content-type": contentType ?? "application/connect+json" },
        body: encodeEnvelope(endStreamFlag, new TextEncoder().encode(json)),
      };
    }
    case "connect-unary":
      return {
        status: r.status,
        headers: { "content-type": "application/json" },
        body: errorToJsonBytes(error, {}),
      };
    case "rest":
      return {
        status: r.status,
        headers: { "content-type": "application/problem+json" },
        body: new TextEncoder().encode(
          JSON.stringify({ type: "about:blank", title: r.title, status: r.status, detail: r.detail }),
        ),
      };
  }
}

/**
 * Answers `req` with a refusal in its protocol (see {@link renderRefusal}); `extra` headers
 * (`connection: close`) are added. Does nothing when the response has already started.
 */
export function refuse(req: AnyRequest, res: AnyResponse, r: Refusal, extra: OutgoingHttpHeaders = {}): void {
  if (res.headersSent || res.writableEnded) return;
  const contentType = req.headers["content-type"];
  const out = renderRefusal(wireProtocolOf(req.method, contentType, req.url ?? "/"), contentType, r);
  (res as { writeHead(s: number, h: OutgoingHttpHeaders): void }).writeHead(out.status, {
    ...out.headers,
    ...extra,
    "content-length": String(out.body.byteLength),
  });
  res.end(out.body);
}

/**
 * An HTTP/1.1 response as raw bytes, for refusals written straight to a socket before any
 * request object exists (headers too large, a header timeout). Always `Connection: close`.
 */
export function rawHttp1Refusal(out: RefusalResponse, reason: string): Buffer {
  const head = [`HTTP/1.1 ${out.status} ${reason}`];
  for (const [k, v] of Object.entries(out.headers)) head.push(`${k}: ${v}`);
  head.push(`content-length: ${out.body.byteLength}`, "connection: close", "", "");
  return Buffer.concat([Buffer.from(head.join("\r\n"), "latin1"), out.body]);
}
