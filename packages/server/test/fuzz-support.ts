// The fuzz test's machinery: a seeded PRNG, every service baton-server can serve (from the
// generated descriptors in @baton/wire), random messages built from those descriptors, one
// bounded request over HTTP/1.1 or HTTP/2, and what each protocol's answer says (its gRPC
// code and message, or REST status and body), so the test can judge every answer the same way.
import * as http from "node:http";
import * as http2 from "node:http2";
import { type BatonServer, type PortariumModule, type ServerOptions, startServer } from "@baton/server";
import * as wireBaaaht from "@baton/wire/baaaht";
import * as wireEdgemesh from "@baton/wire/edgemesh";
import * as wireReflection from "@baton/wire/grpc-reflection";
import * as wireOrca from "@baton/wire/orca";
import * as wireStratavore from "@baton/wire/stratavore";
import {
  create,
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromBinary,
  ScalarType,
  toBinary,
} from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { ACCOUNTS } from "./portarium-support.js";

/** mulberry32: a small, fast, seeded PRNG; the same seed gives the same requests. */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  /** `n` random bytes. */
  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  /** A random string, sometimes with characters that break naive parsers. */
  string(max = 24): string {
    const alphabets = ["abcdefghijklmnopqrstuvwxyz0123456789-_", "%/\\.?#&=+ \u0000\r\n\"'<>{}[]", "é€😀\u202e\ufffd"];
    const n = this.int(max + 1);
    let s = "";
    for (let i = 0; i < n; i++) {
      const a = this.pick(alphabets);
      s += [...a][this.int([...a].length)];
    }
    return s;
  }
}

/** Every service descriptor @baton/wire exports (namespaces such as `grpcHealth` included), by type name. */
export function wireServices(): Map<string, DescService> {
  const out = new Map<string, DescService>();
  const visit = (ns: Record<string, unknown>, depth: number) => {
    for (const value of Object.values(ns)) {
      if (typeof value !== "object" || value === null) continue;
      const v = value as { kind?: unknown; typeName?: unknown };
      if (v.kind === "service" && typeof v.typeName === "string") out.set(v.typeName, value as DescService);
      else if (v.kind === undefined && depth < 1) visit(value as Record<string, unknown>, depth + 1);
    }
  };
  for (const ns of [wireOrca, wireBaaaht, wireEdgemesh, wireStratavore, wireReflection]) visit(ns, 0);
  return out;
}

/** A random value for a scalar field. */
function scalarValue(t: ScalarType, rng: Rng): unknown {
  switch (t) {
    case ScalarType.STRING:
      return rng.string();
    case ScalarType.BYTES:
      return new Uint8Array(rng.bytes(rng.int(16)));
    case ScalarType.BOOL:
      return rng.chance(0.5);
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return rng.pick([0, -1, 1.5, 1e308, -1e-308, Number.NaN, Number.POSITIVE_INFINITY]);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return rng.pick([0n, -1n, 1n, 2n ** 31n, 2n ** 63n - 1n, -(2n ** 63n)]);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return rng.pick([0n, 1n, 2n ** 31n, 2n ** 53n + 1n, 2n ** 64n - 1n]);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return rng.pick([0, 1, 2 ** 31, 2 ** 32 - 1]);
    default:
      return rng.pick([0, -1, 1, 2 ** 31 - 1, -(2 ** 31), rng.int(1000)]);
  }
}

function fieldValue(f: DescField, rng: Rng, depth: number): unknown {
  switch (f.fieldKind) {
    case "scalar":
      return scalarValue(f.scalar, rng);
    case "enum":
      return rng.chance(0.8) ? rng.pick(f.enum.values).number : rng.int(1000) - 500;
    case "message":
      return randomInit(f.message, rng, depth + 1);
    case "list": {
      const n = rng.int(4);
      const items: unknown[] = [];
      for (let i = 0; i < n; i++) {
        if (f.listKind === "scalar") items.push(scalarValue(f.scalar, rng));
        else if (f.listKind === "enum") items.push(rng.pick(f.enum.values).number);
        else items.push(randomInit(f.message, rng, depth + 1));
      }
      return items;
    }
    case "map": {
      const out: Record<string, unknown> = {};
      for (let i = rng.int(3); i > 0; i--) {
        const key =
          f.mapKey === ScalarType.STRING ? rng.string(8) : f.mapKey === ScalarType.BOOL ? "true" : String(rng.int(100));
        out[key] =
          f.mapKind === "scalar"
            ? scalarValue(f.scalar, rng)
            : f.mapKind === "enum"
              ? rng.pick(f.enum.values).number
              : randomInit(f.message, rng, depth + 1);
      }
      return out;
    }
  }
}

/** A random init shape for `desc`: each field set with probability 1/2, messages nested three deep. */
export function randomInit(desc: DescMessage, rng: Rng, depth = 0): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  if (depth > 2) return init;
  for (const member of desc.members) {
    if (!rng.chance(0.5)) continue;
    if (member.kind === "oneof") {
      const f = rng.pick(member.fields);
      init[member.localName] = { case: f.localName, value: fieldValue(f, rng, depth) };
    } else init[member.localName] = fieldValue(member, rng, depth);
  }
  return init;
}

/** A random, valid message of `desc`, encoded. */
export function randomMessage(desc: DescMessage, rng: Rng): Uint8Array {
  return toBinary(desc, create(desc, randomInit(desc, rng) as never));
}

/** A JSON value of the wrong type for `f` (one protobuf's JSON mapping refuses), or undefined when any JSON fits. */
export function wrongJson(f: DescField, rng: Rng): unknown {
  if (f.fieldKind === "list") return rng.pick([5, "x", { a: 1 }]);
  if (f.fieldKind === "map") return rng.pick([5, "x", [1, 2]]);
  if (f.fieldKind === "message") {
    // Well-known types have JSON forms of their own (Value takes anything, Timestamp a string).
    if (f.message.typeName.startsWith("google.protobuf.")) return undefined;
    return rng.pick([5, "x", true, [1]]);
  }
  if (f.fieldKind === "enum") {
    if (f.enum.typeName === "google.protobuf.NullValue") return undefined;
    return rng.pick([{ a: 1 }, [1], "NO_SUCH_ENUM_VALUE", true]);
  }
  switch (f.scalar) {
    case ScalarType.STRING:
      return rng.pick([5, true, { a: 1 }, [1]]);
    case ScalarType.BYTES:
      return rng.pick([5, true, { a: 1 }, "%%%not base64%%%"]);
    case ScalarType.BOOL:
      return rng.pick([5, "yes", { a: 1 }, [true]]);
    default:
      return rng.pick([true, "not a number", { a: 1 }, [1]]);
  }
}

/** A JSON request body whose fields are of the wrong types (at least one wrong field, when the message has any). */
export function wrongTypesJson(desc: DescMessage, rng: Rng): { body: string; wrong: boolean } {
  const out: Record<string, unknown> = {};
  let wrong = false;
  for (const f of desc.fields) {
    const v = wrongJson(f, rng);
    if (v === undefined || (wrong && !rng.chance(0.5))) continue;
    out[f.jsonName] = v;
    wrong = true;
  }
  return { body: JSON.stringify(out), wrong };
}

/** The wire protocols the fuzz test speaks. */
export type Protocol = "grpc" | "grpc-web" | "connect";

/** A length-prefixed envelope with `flags` and a declared `length` (the payload's, unless given). */
export function envelope(payload: Uint8Array, flags = 0, length = payload.byteLength): Buffer {
  const out = Buffer.alloc(5 + payload.byteLength);
  out[0] = flags;
  out.writeUInt32BE(length >>> 0, 1);
  out.set(payload, 5);
  return out;
}

/** One request the fuzz test sends. */
export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** What came back, or `hung` when nothing completed within the bound. */
export interface FuzzResponse {
  hung: boolean;
  /** Set when the connection failed or the stream was reset before an answer. */
  error?: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  trailers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/** Sends one request on an HTTP/2 session; answers within `boundMs` or reports it hung (and resets the stream). */
export function sendH2(session: http2.ClientHttp2Session, r: FuzzRequest, boundMs: number): Promise<FuzzResponse> {
  return new Promise((resolve) => {
    // A bodiless request ends with its HEADERS frame, as HTTP/2 clients send one.
    const empty = (r.body?.byteLength ?? 0) === 0;
    const stream = session.request({ ":method": r.method, ":path": r.path, ...r.headers }, { endStream: empty });
    const out: FuzzResponse = { hung: false, status: 0, headers: {}, trailers: {}, body: Buffer.alloc(0) };
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      out.hung = true;
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }, boundMs);
    stream.on("response", (h) => {
      out.status = Number(h[":status"]);
      out.headers = h;
    });
    stream.on("trailers", (t) => {
      out.trailers = t;
    });
    stream.on("data", (d: Buffer) => chunks.push(d));
    stream.on("error", (e: Error) => {
      out.error ??= e.message;
    });
    stream.on("close", () => {
      clearTimeout(timer);
      out.body = Buffer.concat(chunks);
      if (out.status === 0 && !out.hung) out.error ??= `stream closed with code ${stream.rstCode}`;
      resolve(out);
    });
    if (!empty) stream.end(r.body);
  });
}

/** Sends one request over HTTP/1.1 with `agent` (keep-alive); answers within `boundMs` or reports it hung. */
export function sendH1(address: string, agent: http.Agent, r: FuzzRequest, boundMs: number): Promise<FuzzResponse> {
  const i = address.lastIndexOf(":");
  return new Promise((resolve) => {
    const out: FuzzResponse = { hung: false, status: 0, headers: {}, trailers: {}, body: Buffer.alloc(0) };
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(out);
    };
    const req = http.request({
      host: address.slice(0, i),
      port: Number(address.slice(i + 1)),
      method: r.method,
      path: r.path,
      headers: r.headers,
      agent,
    });
    const timer = setTimeout(() => {
      out.hung = true;
      req.destroy();
      finish();
    }, boundMs);
    req.on("error", (e) => {
      out.error ??= e.message;
      finish();
    });
    req.on("response", (res) => {
      out.status = res.statusCode ?? 0;
      out.headers = res.headers;
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("error", (e) => {
        out.error ??= e.message;
      });
      res.on("end", () => {
        out.body = Buffer.concat(chunks);
        out.trailers = res.trailers;
        finish();
      });
      res.on("close", () => {
        out.body = Buffer.concat(chunks);
        if (!res.complete) out.error ??= "response cut short";
        finish();
      });
    });
    req.end(r.body ?? Buffer.alloc(0));
  });
}

const CONNECT_CODES = new Map<string, Code>(
  Object.entries(Code)
    .filter(([, v]) => typeof v === "number")
    .map(([k, v]) => [k.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase(), v as Code]),
);

/** What an RPC's answer says: its gRPC code and message, or why it cannot be read. */
export interface RpcOutcome {
  code?: Code;
  message: string;
  /** Why the answer is not a well-formed answer of its protocol. */
  malformed?: string;
}

/**
 * The payload of the first envelope in `body` whose flags have `flag` set (gRPC-Web's
 * trailer frame `0x80`, Connect's end-of-stream message `0x02`), or undefined if none.
 */
function flaggedFrame(body: Buffer, flag: number): Buffer | undefined {
  let at = 0;
  for (let n = 0; n < 100_000 && at + 5 <= body.length; n++) {
    const flags = body[at] as number;
    const len = body.readUInt32BE(at + 1);
    const payload = body.subarray(at + 5, at + 5 + len);
    at += 5 + len;
    if (flags & flag) return payload;
  }
  return undefined;
}

/** Parses gRPC-Web's trailer frame (`0x80`) out of a response body. */
function grpcWebTrailers(body: Buffer): Record<string, string> | undefined {
  const payload = flaggedFrame(body, 0x80);
  if (payload === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const line of payload.toString("utf8").split("\r\n")) {
    const c = line.indexOf(":");
    if (c > 0) out[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  return out;
}

/** Connect's end-of-stream message (`0x02`) out of a streaming response body. */
function connectEndStream(body: Buffer): { error?: { code?: string; message?: string } } | undefined {
  const payload = flaggedFrame(body, 0x02);
  return payload === undefined ? undefined : JSON.parse(payload.toString("utf8"));
}

/** Reads `res` as an answer of `protocol` (`streaming`: Connect's streaming protocol). */
export function rpcOutcome(protocol: Protocol, streaming: boolean, res: FuzzResponse): RpcOutcome {
  if (res.hung) return { message: "", malformed: "no answer within the bound" };
  if (protocol === "grpc" || protocol === "grpc-web") {
    const t: Record<string, string | string[] | undefined> =
      protocol === "grpc-web" ? { ...res.headers, ...grpcWebTrailers(res.body) } : { ...res.headers, ...res.trailers };
    const status = first(t["grpc-status"]);
    const message = decodeURIComponent(first(t["grpc-message"]) ?? "");
    if (status === undefined)
      return { message, malformed: `no grpc-status (HTTP ${res.status}${res.error ? `, ${res.error}` : ""})` };
    return { code: Number(status) as Code, message };
  }
  const text = res.body.toString("utf8");
  if (streaming && res.status === 200) {
    try {
      const end = connectEndStream(res.body);
      if (!end) return { message: "", malformed: `no end-stream message${res.error ? ` (${res.error})` : ""}` };
      if (!end.error) return { code: 0 as Code, message: "" };
      const code = CONNECT_CODES.get(end.error.code ?? "");
      if (code === undefined) return { message: "", malformed: `end-stream with unknown code ${end.error.code}` };
      return { code, message: end.error.message ?? "" };
    } catch (e) {
      return { message: "", malformed: `end-stream is not JSON: ${String(e)}` };
    }
  }
  if (res.status === 200) return { code: 0 as Code, message: "" };
  try {
    const err = JSON.parse(text) as { code?: string; message?: string };
    const code = CONNECT_CODES.get(err.code ?? "");
    if (code === undefined) return { message: text, malformed: `HTTP ${res.status} with unknown code ${err.code}` };
    return { code, message: err.message ?? "" };
  } catch {
    return { message: text, malformed: `HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 120)}` };
  }
}

/** Looks like a stack trace (or a file path of the server's source) leaked into a message. */
export function leaksInternals(message: string): boolean {
  return /\n\s+at |\bat [^\s]+ \(|node:internal|\/src\/[\w/-]+\.[jt]s|\.js:\d+:\d+/.test(message);
}

/** Whether a method's requests are a stream of messages (client or bidi streaming). */
export const clientStreams = (m: DescMethod) =>
  m.methodKind === "client_streaming" || m.methodKind === "bidi_streaming";

/** The services a running server serves, as its reflection service lists them (reflection needs no token). */
export async function servedServices(session: http2.ClientHttp2Session): Promise<string[]> {
  const req = toBinary(
    wireReflection.v1.ServerReflectionRequestSchema,
    create(wireReflection.v1.ServerReflectionRequestSchema, { messageRequest: { case: "listServices", value: "" } }),
  );
  const r = await sendH2(
    session,
    {
      method: "POST",
      path: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
      headers: { "content-type": "application/grpc", te: "trailers" },
      body: envelope(req),
    },
    15_000,
  );
  const res = fromBinary(
    wireReflection.v1.ServerReflectionResponseSchema,
    r.body.subarray(5, 5 + r.body.readUInt32BE(1)),
  );
  if (res.messageResponse.case !== "listServicesResponse") throw new Error("reflection did not list services");
  return res.messageResponse.value.service.map((s) => s.name);
}

/** Which HTTP version a request goes over. */
export type Transport = "h1" | "h2";

/** Which protocols each HTTP version carries (gRPC needs HTTP/2's trailers). */
export const COMBOS: readonly (readonly [Protocol, Transport])[] = [
  ["grpc", "h2"],
  ["grpc-web", "h1"],
  ["grpc-web", "h2"],
  ["connect", "h1"],
  ["connect", "h2"],
];

/**
 * A baton-server on loopback with Portarium's test service accounts, and the HTTP/1.1
 * agent and HTTP/2 session the fuzz and auth-matrix tests send their requests over.
 */
export interface FuzzTarget {
  server: BatonServer;
  /** The server's `host:port`. */
  address: string;
  portarium: PortariumModule;
  /** The keep-alive HTTP/1.1 agent requests go over. */
  agent: http.Agent;
  /** The HTTP/2 session requests go over, connected anew if it was closed. */
  session(): http2.ClientHttp2Session;
  /** Sends `r` over `transport`: answered within the bound, or reported hung. */
  send(transport: Transport, r: FuzzRequest): Promise<FuzzResponse>;
  /** Closes the session, the agent and the server. */
  close(): Promise<void>;
}

/**
 * Starts a {@link FuzzTarget}: `startServer(options)` listening on 127.0.0.1 with
 * Portarium's {@link ACCOUNTS}, requests answered within `boundMs`, at most `maxSockets`
 * HTTP/1.1 connections.
 */
export async function startFuzzTarget(
  options: Omit<ServerOptions, "listen" | "settings">,
  { boundMs, maxSockets }: { boundMs: number; maxSockets: number },
): Promise<FuzzTarget> {
  const server = await startServer({
    ...options,
    listen: ["127.0.0.1:0"],
    settings: { "portarium.serviceAccounts": ACCOUNTS },
  });
  const address = server.addresses[0] as string;
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  let h2: http2.ClientHttp2Session | undefined;
  const session = () => {
    if (h2 === undefined || h2.closed || h2.destroyed) {
      // Node's client keeps the unsent rest of a body the server refused early (its stream
      // reset NO_ERROR) in the session's memory; past maxSessionMemory (10 MB) it refuses
      // new streams itself with ENHANCE_YOUR_CALM. These tests send many such bodies.
      h2 = http2.connect(`http://${address}`, { maxSessionMemory: 1024 });
      h2.on("error", () => {});
    }
    return h2;
  };
  return {
    server,
    address,
    portarium: server.modules.get("portarium") as PortariumModule,
    agent,
    session,
    send: (transport, r) => (transport === "h2" ? sendH2(session(), r, boundMs) : sendH1(address, agent, r, boundMs)),
    async close() {
      h2?.destroy();
      agent.destroy();
      await server.close();
    },
  };
}

/** Runs `tasks` with at most `width` in flight. */
export async function pool(tasks: (() => Promise<void>)[], width: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < tasks.length) await (tasks[next++] as () => Promise<void>)();
    }),
  );
}
