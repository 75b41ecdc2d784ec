import { lookup } from "node:dns/promises";
import { BlockList, isIP, connect as tcpConnect } from "node:net";
import type { components } from "@baton/wire/portarium";
import { HttpProblem } from "./http.js";

type S = components["schemas"];

/** Latency above which a reachable endpoint counts as `slow`, in ms. */
export const SLOW_MS = 250;
/** How long a probe waits for the name lookup, and then for the TCP handshake, in ms. */
export const PROBE_TIMEOUT_MS = 2000;

const family = (address: string): "ipv4" | "ipv6" => (isIP(address) === 6 ? "ipv6" : "ipv4");

/**
 * Addresses that are not public: this host, private networks, link-local, carrier-grade
 * NAT, documentation, benchmarking, multicast and reserved ranges, and the IPv6 prefixes
 * that embed an IPv4 address (IPv4-mapped addresses are checked as the IPv4 address).
 */
const NON_PUBLIC: ReadonlyArray<readonly [string, number]> = [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.0.2.0", 24],
  ["192.88.99.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["198.51.100.0", 24],
  ["203.0.113.0", 24],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
  ["::", 128],
  ["::1", 128],
  ["64:ff9b::", 96],
  ["64:ff9b:1::", 48],
  ["100::", 64],
  ["2001::", 23],
  ["2001:db8::", 32],
  ["2002::", 16],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
];

const nonPublic = new BlockList();
for (const [net, bits] of NON_PUBLIC) nonPublic.addSubnet(net, bits, family(net));

/** Whether an IP address is public: in none of the loopback, private, link-local or reserved ranges. */
export function isPublicAddress(address: string): boolean {
  return isIP(address) !== 0 && !nonPublic.check(address, family(address));
}

/** One entry of `portarium.connectionTestAllow`. */
type AllowEntry =
  | { kind: "public" }
  | { kind: "net"; list: BlockList; port: number | undefined }
  | { kind: "host"; host: string; port: number | undefined };

const parsePort = (text: string | undefined, entry: string): number | undefined => {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw new Error(`${entry}: ${text} is not a port (1-65535)`);
  return port;
};

function parseEntry(entry: string): AllowEntry {
  if (entry === "public") return { kind: "public" };
  // [v6] or [v6/bits], optionally :port; a.b.c.d[/bits][:port]; a bare v6[/bits]; host[:port].
  const m =
    /^\[([^\]]+)\](?::([^:]*))?$/.exec(entry) ??
    /^(\d+\.\d+\.\d+\.\d+(?:\/\d+)?)(?::([^:]*))?$/.exec(entry) ??
    (entry.split(":").length > 2 ? [entry, entry, undefined] : null);
  if (m) {
    const [net = "", bitsText] = (m[1] ?? "").split("/");
    const fam = isIP(net);
    if (fam === 0) throw new Error(`${entry}: ${net} is not an IP address`);
    const max = fam === 4 ? 32 : 128;
    const bits = bitsText === undefined ? max : Number(bitsText);
    if (!/^\d+$/.test(bitsText ?? String(max)) || bits > max)
      throw new Error(`${entry}: /${bitsText} is not a prefix length`);
    const list = new BlockList();
    list.addSubnet(net, bits, family(net));
    return { kind: "net", list, port: parsePort(m[2], entry) };
  }
  const h = /^([a-z0-9](?:[a-z0-9.-]*[a-z0-9])?)(?::([^:]*))?$/i.exec(entry);
  if (!h?.[1])
    throw new Error(`${entry} is not public, an address, a CIDR range or a host name, with an optional :port`);
  return { kind: "host", host: h[1].toLowerCase(), port: parsePort(h[2], entry) };
}

/**
 * Which endpoints connection tests may dial: `portarium.connectionTestAllow`, a
 * comma-separated list of entries, each
 * - `public`: any public address (not loopback, private, link-local or reserved);
 * - an address or CIDR range, optionally with a port: `127.0.0.1`, `10.0.0.0/8`,
 *   `192.168.1.5:8080`, `::1`, `fd00::/8`, `[::1]:8080`, `[fd00::/8]:443`;
 * - a host name, optionally with a port: `agents.internal`, `agents.internal:443` (the name
 *   as the endpoint spells it; it is still resolved, and its address is dialled).
 *
 * An endpoint's host name is resolved first, and only an address the list allows is
 * dialled (that address itself, so a second lookup cannot answer another one).
 */
export class ConnectionTestPolicy {
  /** The setting as given. */
  readonly text: string;
  readonly #entries: AllowEntry[];

  private constructor(text: string, entries: AllowEntry[]) {
    this.text = text;
    this.#entries = entries;
  }

  /**
   * Parses the setting; an empty one allows nothing.
   *
   * @throws {Error} naming an entry that is none of the above.
   */
  static parse(text: string): ConnectionTestPolicy {
    const entries = text
      .split(",")
      .map((e) => e.trim())
      .filter(Boolean)
      .map(parseEntry);
    return new ConnectionTestPolicy(text, entries);
  }

  /** Whether the endpoint host `hostname`, resolved to `address`, may be dialled on `port`. */
  allows(hostname: string, address: string, port: number): boolean {
    const host = hostname.toLowerCase();
    return this.#entries.some((e) => {
      if (e.kind === "public") return isPublicAddress(address);
      if (e.port !== undefined && e.port !== port) return false;
      return e.kind === "host" ? e.host === host : e.list.check(address, family(address));
    });
  }
}

/** Resolves a host name to its addresses (the system resolver by default). */
export type Resolve = (hostname: string) => Promise<string[]>;

const systemResolve: Resolve = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

/** `promise`, or a rejection after `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The 403 of an endpoint the policy does not let connection tests dial. */
function refused(endpoint: string, host: string, addresses: string[], policy: ConnectionTestPolicy): HttpProblem {
  const where = isIP(host) ? host : `${host} (${addresses.join(", ")})`;
  const kind = addresses.every((a) => !isPublicAddress(a))
    ? "a loopback, private, link-local or reserved address"
    : "an address";
  return new HttpProblem(
    403,
    "connection-test-not-allowed",
    `${endpoint} was not dialled: ${where} is ${kind} that portarium.connectionTestAllow (${policy.text || "empty"}) does not allow; the operator may list it there`,
  );
}

/**
 * Tests whether an endpoint URL answers: resolves its host (bounded by
 * {@link PROBE_TIMEOUT_MS}), checks the addresses against `policy`, opens a TCP connection
 * to the first allowed one on its port (the scheme's default when the URL names none) and
 * closes it at once. `ok` when the handshake completes within {@link SLOW_MS}, `slow` when
 * it takes longer, `unreachable` when the name does not resolve or the connection is
 * refused, fails or times out after {@link PROBE_TIMEOUT_MS}.
 *
 * @throws {HttpProblem} 403 `connection-test-not-allowed`, before any connection is opened,
 *   when the policy allows none of the host's addresses.
 */
export async function probeEndpoint(
  endpoint: string,
  policy: ConnectionTestPolicy,
  resolve: Resolve = systemResolve,
): Promise<S["ConnectionTestResult"]> {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { status: "unreachable", latencyMs: 0, errorMessage: `${endpoint} is not a URL` };
  }
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : await within(resolve(host), PROBE_TIMEOUT_MS, `looking up ${host}`);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return {
      status: "unreachable",
      latencyMs: elapsed(),
      errorMessage: `${host} does not resolve: ${e.code ?? e.message}`,
    };
  }
  if (addresses.length === 0)
    return { status: "unreachable", latencyMs: elapsed(), errorMessage: `${host} has no address` };
  const address = addresses.find((a) => policy.allows(host, a, port));
  if (address === undefined) throw refused(endpoint, host, addresses, policy);
  return new Promise((resolveResult) => {
    const socket = tcpConnect({ host: address, port });
    const finish = (result: S["ConnectionTestResult"]) => {
      socket.destroy();
      resolveResult(result);
    };
    socket.setTimeout(PROBE_TIMEOUT_MS, () =>
      finish({ status: "unreachable", latencyMs: elapsed(), errorMessage: "connection timed out" }),
    );
    socket.once("connect", () => {
      const latencyMs = elapsed();
      finish({ status: latencyMs > SLOW_MS ? "slow" : "ok", latencyMs });
    });
    socket.once("error", (err) =>
      finish({ status: "unreachable", latencyMs: elapsed(), errorMessage: err.message || "connection failed" }),
    );
  });
}
