// Fuzz test (#8.5, #13): every method of every service baton-server serves and every
// Portarium REST operation get random, truncated, mis-flagged, mis-typed and oversized
// requests over gRPC, gRPC-Web and Connect, on HTTP/1.1 and HTTP/2. Each answer must be a
// well-formed answer of its protocol with the right code (never INTERNAL or UNKNOWN, never
// a stack trace), or a 4xx problem+json for REST, within a bound; after every batch the
// server must still answer a health check.
//
// Seeded: BATON_FUZZ_SEED (default: random, printed) and BATON_FUZZ_ITERATIONS (default 2
// rounds over every method, protocol and HTTP version) make `pnpm fuzz` a longer run of the
// same test. A failure names the seed and the request, so it can be replayed.
import * as http2 from "node:http2";
import { gzipSync } from "node:zlib";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostilePath, hostileRest, restOperations } from "./fuzz-rest.js";
import {
  COMBOS,
  clientStreams,
  envelope,
  type FuzzRequest,
  type FuzzResponse,
  type FuzzTarget,
  leaksInternals,
  type Protocol,
  pool,
  Rng,
  randomMessage,
  rpcOutcome,
  sendH1,
  sendH2,
  servedServices,
  startFuzzTarget,
  type Transport,
  wireServices,
  wrongTypesJson,
} from "./fuzz-support.js";

const SEED = Number(process.env.BATON_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
const ITERATIONS = Number(process.env.BATON_FUZZ_ITERATIONS ?? 2);
/** A call's deadline (gRPC and Connect timeout headers): open streams end with DEADLINE_EXCEEDED. */
const DEADLINE_MS = 1500;
/** Past this, an answer that never came is a hang. */
const BOUND_MS = 15_000;
/** Requests in flight at once. */
const CONCURRENCY = 8;
const MAX_RECEIVE = 4 * 1024 * 1024;

/** Codes no bad input may get: they say the server failed, not the request. */
/** gRPC's OK (connect-es's Code has no member for it). */
const OK = 0 as Code;
/** A code's name. */
const codeName = (c: Code | undefined) => (c === undefined ? "malformed" : c === OK ? "OK" : Code[c]);

const SERVER_FAULTS = new Set<Code>([Code.Unknown, Code.Internal, Code.DataLoss]);

/** One generated RPC request and what its answer must be. */
interface RpcCase extends FuzzRequest {
  kind: string;
  /** The only code allowed, when the case has one right answer. */
  expect?: Code;
  streaming: boolean;
  bidi: boolean;
}

let target: FuzzTarget;
let token: string;
const failures: string[] = [];
const tally = new Map<string, number>();

function count(key: string) {
  tally.set(key, (tally.get(key) ?? 0) + 1);
}

function send(transport: Transport, r: FuzzRequest): Promise<FuzzResponse> {
  return target.send(transport, r);
}

/** gRPC health over a fresh HTTP/2 connection and Portarium over HTTP/1.1: the server still answers. */
async function healthy(): Promise<void> {
  const s = http2.connect(`http://${target.address}`);
  s.on("error", () => {});
  try {
    const r = await sendH2(
      s,
      {
        method: "POST",
        path: "/grpc.health.v1.Health/Check",
        headers: { "content-type": "application/grpc", te: "trailers" },
        body: envelope(new Uint8Array()),
      },
      BOUND_MS,
    );
    expect(rpcOutcome("grpc", false, r).code, `seed ${SEED}: health check after a batch`).toBe(OK);
  } finally {
    s.close();
  }
  const rest = await sendH1(
    target.address,
    target.agent,
    { method: "GET", path: "/v1/workspaces", headers: { authorization: `Bearer ${token}` } },
    BOUND_MS,
  );
  expect(rest.status, `seed ${SEED}: Portarium after a batch`).toBe(200);
}

/** Headers for `protocol` with the JSON or protobuf codec. */
function rpcHeaders(protocol: Protocol, m: DescMethod, json: boolean): Record<string, string> {
  const codec = json ? "json" : "proto";
  if (protocol === "grpc")
    return { "content-type": `application/grpc+${codec}`, te: "trailers", "grpc-timeout": `${DEADLINE_MS}m` };
  if (protocol === "grpc-web")
    return { "content-type": `application/grpc-web+${codec}`, "x-grpc-web": "1", "grpc-timeout": `${DEADLINE_MS}m` };
  const streaming = m.methodKind !== "unary";
  return {
    "content-type": streaming ? `application/connect+${codec}` : `application/${codec}`,
    "connect-protocol-version": "1",
    "connect-timeout-ms": String(DEADLINE_MS),
  };
}

/** A hostile request for method `m` of `svc` in `protocol`. */
function rpcCase(svc: DescService, m: DescMethod, protocol: Protocol, transport: Transport, rng: Rng): RpcCase {
  const path = `/${svc.typeName}/${m.name}`;
  const streaming = m.methodKind !== "unary";
  const enveloped = protocol !== "connect" || streaming;
  const kinds = [
    "random-bytes",
    "mutated",
    "valid-random",
    "truncated",
    "bad-flag",
    "unknown-encoding",
    "gzip-garbage",
    "declared-oversize",
    "wrong-json-types",
    "not-json",
  ];
  if (protocol === "connect" && !streaming) kinds.push("get-bad-base64", "get-random");
  const kind = rng.pick(kinds);
  const base = { method: "POST", path, streaming, bidi: m.methodKind === "bidi_streaming", kind };
  const frame = (payload: Uint8Array, flags = 0, length?: number) =>
    enveloped ? envelope(payload, flags, length) : Buffer.from(payload);
  // Client streams get a few messages, the hostile one among valid ones.
  const framed = (hostile: Buffer) =>
    clientStreams(m) && enveloped
      ? Buffer.concat([frame(randomMessage(m.input, rng)), hostile, frame(randomMessage(m.input, rng))].slice(0, 2))
      : hostile;
  const mutate = (bytes: Uint8Array) => {
    const b = Buffer.from(bytes);
    for (let i = rng.int(3) + 1; i > 0 && b.length > 0; i--) b[rng.int(b.length)] = rng.int(256);
    return rng.chance(0.3) ? b.subarray(0, rng.int(b.length + 1)) : b;
  };
  switch (kind) {
    case "random-bytes":
      return { ...base, headers: rpcHeaders(protocol, m, false), body: framed(frame(rng.bytes(rng.int(64)))) };
    case "mutated":
      return {
        ...base,
        headers: rpcHeaders(protocol, m, false),
        body: framed(frame(mutate(randomMessage(m.input, rng)))),
      };
    case "valid-random":
      return { ...base, headers: rpcHeaders(protocol, m, false), body: framed(frame(randomMessage(m.input, rng))) };
    case "truncated": {
      const msg = randomMessage(m.input, rng);
      if (!enveloped) {
        // Connect unary has no envelope: a message cut mid-field is the truncation.
        const cut = Buffer.concat([Buffer.from(msg), Buffer.from([0x0a, 0x7f, 0x01])]);
        return { ...base, headers: rpcHeaders(protocol, m, false), body: cut, expect: Code.InvalidArgument };
      }
      return {
        ...base,
        headers: rpcHeaders(protocol, m, false),
        body: envelope(msg, 0, msg.byteLength + 1 + rng.int(1000)),
        expect: Code.InvalidArgument,
      };
    }
    case "bad-flag": {
      if (!enveloped) {
        // Says gzip, is not: an empty body is still the empty message.
        const body = Buffer.from(randomMessage(m.input, rng));
        return {
          ...base,
          headers: { ...rpcHeaders(protocol, m, false), "content-encoding": "gzip" },
          body,
          ...(body.byteLength > 0 ? { expect: Code.InvalidArgument } : {}),
        };
      }
      // Compressed without an encoding, or flag bits no protocol defines.
      const flags = rng.pick([0x01, 0x04, 0x08, 0x10, 0x40, 0x7d]);
      return {
        ...base,
        kind: `bad-flag-0x${flags.toString(16)}`,
        headers: rpcHeaders(protocol, m, false),
        body: framed(envelope(randomMessage(m.input, rng), flags)),
      };
    }
    case "unknown-encoding": {
      const headers = rpcHeaders(protocol, m, false);
      const name =
        protocol === "connect" ? (streaming ? "connect-content-encoding" : "content-encoding") : "grpc-encoding";
      return {
        ...base,
        headers: { ...headers, [name]: rng.pick(["zstd", "x-bogus", "deflate"]) },
        body: frame(randomMessage(m.input, rng), 1),
        expect: Code.Unimplemented,
      };
    }
    case "gzip-garbage": {
      const headers = rpcHeaders(protocol, m, false);
      const name =
        protocol === "connect" ? (streaming ? "connect-content-encoding" : "content-encoding") : "grpc-encoding";
      const payload = rng.chance(0.5) ? rng.bytes(1 + rng.int(40)) : gzipSync(rng.bytes(1 + rng.int(40)));
      return { ...base, headers: { ...headers, [name]: "gzip" }, body: frame(payload, 1) };
    }
    case "declared-oversize":
      // A Content-Length the body does not match is a malformed HTTP/2 request (the stream is reset); HTTP/1.1 only.
      if (!enveloped && transport === "h1") {
        return {
          ...base,
          headers: { ...rpcHeaders(protocol, m, false), "content-length": String(MAX_RECEIVE + 1) },
          body: Buffer.alloc(0),
          kind: "declared-oversize-content-length",
        };
      }
      if (!enveloped) return { ...base, headers: rpcHeaders(protocol, m, false), body: Buffer.alloc(0) };
      return {
        ...base,
        headers: rpcHeaders(protocol, m, false),
        body: envelope(rng.bytes(16), 0, MAX_RECEIVE + 1 + rng.int(1 << 20)),
        expect: Code.ResourceExhausted,
      };
    case "wrong-json-types": {
      const { body, wrong } = wrongTypesJson(m.input, rng);
      return {
        ...base,
        headers: rpcHeaders(protocol, m, true),
        body: frame(Buffer.from(body)),
        ...(wrong ? { expect: Code.InvalidArgument } : {}),
      };
    }
    case "not-json":
      return {
        ...base,
        headers: rpcHeaders(protocol, m, true),
        body: frame(Buffer.from(rng.pick(["{", "[]", "5", '"x"', "{'a':1}", "\u0000\u0001", "null x"]))),
        expect: Code.InvalidArgument,
      };
    case "get-bad-base64":
      return {
        ...base,
        method: "GET",
        path: `${path}?connect=v1&encoding=proto&base64=1&message=${rng.pick(["%25%25", "****", "a", "A==="])}`,
        headers: {},
      };
    default:
      return {
        ...base,
        method: "GET",
        path: `${path}?connect=v1&encoding=${rng.pick(["proto", "json", "xml"])}&base64=1&message=${rng.bytes(rng.int(30)).toString("base64url")}`,
        headers: {},
      };
  }
}

/** Judges one RPC answer; a failure is recorded with everything needed to replay it. */
function judge(c: RpcCase, protocol: Protocol, transport: Transport, res: FuzzResponse): void {
  const o = rpcOutcome(protocol, c.streaming, res);
  const where = `seed ${SEED}: ${protocol}/${transport} ${c.method} ${c.path.slice(0, 120)} [${c.kind}]`;
  count(`${protocol} ${codeName(o.code)}`);
  // Bidirectional streams need HTTP/2: over HTTP/1.1 every one is refused UNIMPLEMENTED, whatever it sends.
  const expected = c.bidi && transport === "h1" ? Code.Unimplemented : c.expect;
  if (o.malformed) failures.push(`${where}: ${o.malformed}`);
  else if (o.code !== undefined && SERVER_FAULTS.has(o.code)) failures.push(`${where}: ${Code[o.code]} ${o.message}`);
  else if (expected !== undefined && o.code !== expected)
    failures.push(`${where}: expected ${Code[expected]}, got ${codeName(o.code)} ${o.message}`);
  else if (leaksInternals(o.message)) failures.push(`${where}: message leaks internals: ${o.message}`);
}

beforeAll(async () => {
  target = await startFuzzTarget(
    {
      requestTimeoutMs: 5000,
      logger: {
        error: (...a: unknown[]) => console.log("LOG", JSON.stringify(a)),
        warn() {},
        info() {},
        debug() {},
      } as never,
    },
    { boundMs: BOUND_MS, maxSockets: 8 },
  );
  token = await target.portarium.signToken({ sub: "demo", workspace: "ws-a" });
  console.log(`fuzz: seed ${SEED} (BATON_FUZZ_SEED=${SEED}), ${ITERATIONS} iteration(s)`);
});

afterAll(async () => {
  await target?.close();
  if (tally.size > 0)
    console.log(
      `fuzz: answers by protocol and code: ${[...tally]
        .sort()
        .map(([k, n]) => `${k}=${n}`)
        .join(", ")}`,
    );
});

describe(`fuzz (BATON_FUZZ_SEED=${SEED})`, () => {
  it("covers every service the server serves, from @baton/wire's descriptors", async () => {
    const wire = wireServices();
    const served = await servedServices(target.session());
    expect(served.length).toBeGreaterThan(5);
    // A served service @baton/wire does not describe would go unfuzzed.
    expect(served.filter((s) => !wire.has(s))).toEqual([]);
  });

  it(
    "every RPC answers bad input with the right code, never INTERNAL, and the server keeps answering",
    async () => {
      const wire = wireServices();
      const services = (await servedServices(target.session())).map((s) => wire.get(s) as DescService);
      const rng = new Rng(SEED);
      let sent = 0;
      for (let i = 0; i < ITERATIONS; i++) {
        const tasks: (() => Promise<void>)[] = [];
        for (const svc of services)
          for (const m of svc.methods)
            for (const [protocol, transport] of COMBOS) {
              const c = rpcCase(svc, m, protocol, transport, rng);
              tasks.push(async () => judge(c, protocol, transport, await send(transport, c)));
            }
        await pool(tasks, CONCURRENCY);
        sent += tasks.length;
        await healthy();
        expect(failures, failures.slice(0, 20).join("\n")).toEqual([]);
      }
      expect(sent).toBeGreaterThan(0);
    },
    Math.max(120_000, ITERATIONS * 60_000),
  );

  it("a message over the limit is RESOURCE_EXHAUSTED on every protocol, and the connection stays usable", async () => {
    const path = "/grpc.health.v1.Health/Check";
    const huge = Buffer.alloc(MAX_RECEIVE + 1, 0x61);
    for (const [protocol, transport] of COMBOS) {
      const headers = rpcHeaders(protocol, { methodKind: "unary" } as DescMethod, false);
      const body = protocol === "connect" ? huge : envelope(huge);
      const res = await send(transport, { method: "POST", path, headers, body });
      const o = rpcOutcome(protocol, false, res);
      expect(o.code, `seed ${SEED}: ${protocol}/${transport} ${o.malformed ?? o.message}`).toBe(Code.ResourceExhausted);
      const again = await send(transport, {
        method: "POST",
        path,
        headers,
        body: protocol === "connect" ? Buffer.alloc(0) : envelope(new Uint8Array()),
      });
      expect(rpcOutcome(protocol, false, again).code, `${protocol}/${transport} after the refusal`).toBe(OK);
    }
  }, 120_000);

  it(
    "every Portarium REST operation answers hostile requests with 2xx or a 4xx problem+json, never 5xx",
    async () => {
      const ops = restOperations();
      expect(ops.length).toBeGreaterThan(20);
      const rng = new Rng(SEED ^ 0x5eed);
      const bad: string[] = [];
      for (let i = 0; i < ITERATIONS * 3; i++) {
        const tasks: (() => Promise<void>)[] = [];
        for (const op of ops)
          for (const transport of ["h1", "h2"] as const) {
            const r = hostileRest(op, rng, token, "ws-a");
            tasks.push(async () => {
              const res = await send(transport, r);
              const where = `seed ${SEED}: rest/${transport} ${op.operationId} ${r.method} ${r.path.slice(0, 120)} [${r.kind}]`;
              count(`rest ${res.hung ? "hung" : res.status}`);
              const type = String(res.headers["content-type"] ?? "");
              if (res.hung || res.status === 0) bad.push(`${where}: no answer (${res.error ?? "hung"})`);
              else if (res.status >= 500) bad.push(`${where}: ${res.status} ${res.body.toString().slice(0, 200)}`);
              else if (res.status >= 400) {
                if (!type.startsWith("application/problem+json")) bad.push(`${where}: ${res.status} as ${type}`);
                else {
                  let p: { status?: number; detail?: string } = {};
                  try {
                    p = JSON.parse(res.body.toString());
                  } catch {
                    bad.push(
                      `${where}: ${res.status} problem+json that is not JSON: ${res.body.toString().slice(0, 100)}`,
                    );
                  }
                  if (p.status !== res.status) bad.push(`${where}: problem status ${p.status} on a ${res.status}`);
                  if (leaksInternals(p.detail ?? "")) bad.push(`${where}: detail leaks internals: ${p.detail}`);
                }
              }
            });
          }
        // Paths outside Portarium's: edgemesh's bulk download, unknown paths, RPC-looking ones.
        for (let n = 0; n < 10; n++) {
          const r = hostilePath(rng);
          const transport = rng.pick(["h1", "h2"] as const);
          tasks.push(async () => {
            const res = await send(transport, r);
            count(`http ${res.hung ? "hung" : res.status}`);
            if (res.hung || res.status === 0 || res.status >= 500)
              bad.push(
                `seed ${SEED}: http/${transport} ${r.method} ${r.path.slice(0, 120)}: ${res.status} ${res.error ?? ""}`,
              );
          });
        }
        await pool(tasks, CONCURRENCY);
        await healthy();
        expect(bad, bad.slice(0, 20).join("\n")).toEqual([]);
      }
    },
    Math.max(120_000, ITERATIONS * 60_000),
  );
});
