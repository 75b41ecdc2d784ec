import { isIP, connect as tcpConnect } from "node:net";
import type { components } from "@baton/wire/portarium";
import type { ConnectionTestScope } from "./settings.js";

type S = components["schemas"];

/** Latency above which a reachable endpoint counts as `slow`, in ms. */
export const SLOW_MS = 250;
/** How long a probe waits for the TCP handshake, in ms. */
export const PROBE_TIMEOUT_MS = 2000;

/** Whether a URL host is this machine: `localhost` (and `*.localhost`), 127.0.0.0/8 or ::1. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) return host === "::1" || host === "0:0:0:0:0:0:0:1";
  return false;
}

/**
 * Tests whether an endpoint URL answers: opens a TCP connection to its host and port (the
 * scheme's default port when the URL names none) and closes it at once. `ok` when the
 * handshake completes within {@link SLOW_MS}, `slow` when it takes longer, `unreachable` when
 * it is refused, fails or times out after {@link PROBE_TIMEOUT_MS}.
 *
 * With `scope` `loopback` (the server's default) only this machine's endpoints are dialled:
 * any other host answers `unreachable` with an error message that says so, and no packet
 * leaves the machine (no DNS lookup either).
 */
export function probeEndpoint(endpoint: string, scope: ConnectionTestScope): Promise<S["ConnectionTestResult"]> {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return Promise.resolve({ status: "unreachable", latencyMs: 0, errorMessage: `${endpoint} is not a URL` });
  }
  if (scope === "loopback" && !isLoopbackHost(url.hostname)) {
    return Promise.resolve({
      status: "unreachable",
      latencyMs: 0,
      errorMessage: `${url.hostname} was not dialled: baton-server tests loopback endpoints only (set portarium.connectionTestScope=any to dial other hosts)`,
    });
  }
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    const finish = (result: S["ConnectionTestResult"]) => {
      socket.destroy();
      resolve(result);
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
