// Raw sockets for the hardening tests: HTTP/1.1 requests written by hand on one keep-alive
// connection, and gRPC frames for node:http2, so what the server does on the wire is seen
// exactly (no client library smoothing it over).
import * as http2 from "node:http2";
import * as net from "node:net";

/** One HTTP/1.1 response read off a raw socket. */
export interface RawResponse {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  body: Buffer;
}

/** A raw TCP connection that reads HTTP/1.1 responses one after another. */
export class RawConnection {
  readonly socket: net.Socket;
  #buffer = Buffer.alloc(0);
  #closed = false;
  #wake: (() => void) | undefined;
  /** Resolves when the server closes (or resets) the connection. */
  readonly closed: Promise<void>;

  constructor(address: string) {
    const i = address.lastIndexOf(":");
    this.socket = net.connect(Number(address.slice(i + 1)), address.slice(0, i));
    this.socket.on("data", (d: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, d]);
      this.#wake?.();
    });
    this.socket.on("error", () => {});
    this.closed = new Promise((resolve) =>
      this.socket.once("close", () => {
        this.#closed = true;
        this.#wake?.();
        resolve();
      }),
    );
  }

  /** Writes bytes (a request, or part of one). */
  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  async #until(ready: () => boolean): Promise<void> {
    while (!ready()) {
      if (this.#closed) throw new Error(`connection closed; unread: ${this.#buffer.toString("latin1", 0, 200)}`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
  }

  /** Reads the next response (Content-Length or chunked body); throws if the connection closes first. */
  async response(): Promise<RawResponse> {
    await this.#until(() => this.#buffer.indexOf("\r\n\r\n") >= 0);
    const end = this.#buffer.indexOf("\r\n\r\n");
    const [statusLine = "", ...lines] = this.#buffer.toString("latin1", 0, end).split("\r\n");
    this.#buffer = this.#buffer.subarray(end + 4);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const c = line.indexOf(":");
      headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
    }
    const status = Number(statusLine.split(" ")[1]);
    let body = Buffer.alloc(0);
    if (headers["transfer-encoding"] === "chunked") {
      for (let n = 0; n < 10_000; n++) {
        await this.#until(() => this.#buffer.indexOf("\r\n") >= 0);
        const lineEnd = this.#buffer.indexOf("\r\n");
        const size = Number.parseInt(this.#buffer.toString("latin1", 0, lineEnd), 16);
        await this.#until(() => this.#buffer.length >= lineEnd + 2 + size + 2);
        body = Buffer.concat([body, this.#buffer.subarray(lineEnd + 2, lineEnd + 2 + size)]);
        this.#buffer = this.#buffer.subarray(lineEnd + 2 + size + 2);
        if (size === 0) break;
      }
    } else {
      const length = Number(headers["content-length"] ?? 0);
      await this.#until(() => this.#buffer.length >= length);
      body = this.#buffer.subarray(0, length);
      this.#buffer = this.#buffer.subarray(length);
    }
    return { status, headers, body };
  }

  /** Destroys the socket. */
  close(): void {
    this.socket.destroy();
  }
}

/** A gRPC length-prefixed message (uncompressed unless `flags` says otherwise). */
export function grpcFrame(message: Uint8Array, flags = 0): Buffer {
  const out = Buffer.alloc(5 + message.byteLength);
  out[0] = flags;
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, 5);
  return out;
}

/** A `grpc.health.v1.HealthCheckRequest` whose `service` field holds `size` bytes. */
export function healthRequest(size: number): Buffer {
  const len: number[] = [];
  let n = size;
  do {
    len.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x0a, ...len]), Buffer.alloc(size, 0x61)]);
}

/** What one HTTP/2 call answered. */
export interface H2Answer {
  status: number | undefined;
  /** `grpc-status` from the trailers (or the headers of a trailers-only answer). */
  grpcStatus: string | undefined;
  grpcMessage: string | undefined;
  headers: http2.IncomingHttpHeaders;
  /** The trailer block (empty for a trailers-only answer). */
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
  /** The RST_STREAM code the stream closed with (0: NO_ERROR or a clean end). */
  rstCode: number;
}

/**
 * Sends one request on `session` (body written with backpressure, then ended unless
 * `end: false`) and resolves when its stream closes.
 */
export function h2Call(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body: Buffer,
  options: { end?: boolean } = {},
): Promise<H2Answer> {
  return new Promise((resolve) => {
    const stream = session.request({ ":method": "POST", te: "trailers", ...headers });
    let response: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    stream.on("response", (h) => {
      response = h;
    });
    stream.on("trailers", (t) => {
      trailers = t;
    });
    stream.on("data", (d: Buffer) => chunks.push(d));
    stream.on("error", () => {});
    stream.on("close", () => {
      const status = trailers ?? response;
      resolve({
        status: response[":status"] as number | undefined,
        grpcStatus: status["grpc-status"] as string | undefined,
        grpcMessage: status["grpc-message"] as string | undefined,
        headers: response,
        trailers: trailers ?? {},
        body: Buffer.concat(chunks),
        rstCode: stream.rstCode ?? 0,
      });
    });
    let sent = 0;
    const pump = () => {
      while (sent < body.length) {
        const ok = stream.write(body.subarray(sent, sent + 65_536));
        sent += 65_536;
        if (!ok) {
          stream.once("drain", pump);
          return;
        }
      }
      if (options.end !== false) stream.end();
    };
    pump();
  });
}

/** gRPC request headers for a method path. */
export const grpcHeaders = (path: string, contentType = "application/grpc"): http2.OutgoingHttpHeaders => ({
  ":path": path,
  "content-type": contentType,
});

/** One raw HTTP/1.1 exchange on a new connection to `address`: writes `request`, reads the answer, closes. */
export async function http1Exchange(address: string, request: string | Buffer): Promise<RawResponse> {
  const conn = new RawConnection(address);
  conn.write(request);
  const res = await conn.response();
  conn.close();
  return res;
}

/** Runs `fn` on a new cleartext HTTP/2 session to `address`, closed afterwards. */
export async function withH2Session<T>(address: string, fn: (s: http2.ClientHttp2Session) => Promise<T>): Promise<T> {
  const session = http2.connect(`http://${address}`);
  session.on("error", () => {});
  try {
    return await fn(session);
  } finally {
    session.close();
  }
}
