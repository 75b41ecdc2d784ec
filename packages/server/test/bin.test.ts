import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Connection, callOrThrow, UnauthenticatedError } from "@baton/core";
import { parseCli } from "@baton/server";
import { grpcHealth } from "@baton/wire/baaaht";
import { Orchestrator } from "@baton/wire/orca";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const bin = join(import.meta.dirname, "../dist/bin.js");
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "baton-bin-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function start(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ child: ChildProcessWithoutNullStreams; addresses: string[] }> {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
  const wanted = args.filter((a) => a === "--listen" || a === "--grpc-socket-path").length;
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`no addresses printed: ${out}`)), 10_000);
    child.stdout.on("data", (d) => {
      out += d;
      const addresses = [...out.matchAll(/listening on (\S+)/g)].map((m) => m[1] as string);
      if (addresses.length >= wanted) {
        clearTimeout(timer);
        resolve({ child, addresses });
      }
    });
    child.once("exit", (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}
const exited = (child: ChildProcessWithoutNullStreams) =>
  new Promise<number | null>((r) => child.once("exit", (code) => r(code)));

describe("baton-server", () => {
  it("listens on TCP and a Unix socket, enforces --token, and shuts down cleanly on SIGTERM", async () => {
    const sock = join(dir, "orca.sock");
    const { child, addresses } = await start([
      "--listen",
      "127.0.0.1:0",
      "--listen",
      `unix://${sock}`,
      "--token",
      "tkn",
      "--quiet",
    ]);
    expect(addresses[0]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(addresses[1]).toBe(`unix://${sock}`);
    // The generated ORCA client over a core connection: the server's tests use no client package.
    for (const address of addresses) {
      const authed = new Connection({ address, token: "tkn" });
      const orca = createClient(Orchestrator, authed.transport);
      await expect(callOrThrow(() => orca.startRun({ workflowId: "bin" }))).resolves.toMatchObject({ runId: "bin" });
      authed.close();
      const anonymous = new Connection({ address });
      const anon = createClient(Orchestrator, anonymous.transport);
      await expect(callOrThrow(() => anon.startRun({ workflowId: "bin" }))).rejects.toBeInstanceOf(
        UnauthenticatedError,
      );
      anonymous.close();
    }
    const code = exited(child);
    child.kill("SIGTERM");
    expect(await code).toBe(0);
    expect(existsSync(sock)).toBe(false);
  });

  it("keeps serving when its stdout pipe closes (EPIPE), and still shuts down cleanly", async () => {
    const { child, addresses } = await start(["--listen", "127.0.0.1:0"]);
    // The log reader goes away; every request line after this hits a closed pipe.
    child.stdout.destroy();
    const conn = new Connection({ address: addresses[0] as string });
    const orca = createClient(Orchestrator, conn.transport);
    for (let i = 0; i < 20; i++) {
      await expect(callOrThrow(() => orca.startRun({ workflowId: `epipe-${i}` }))).resolves.toMatchObject({
        runId: `epipe-${i}`,
      });
    }
    conn.close();
    const code = exited(child);
    child.kill("SIGTERM"); // writes "SIGTERM, shutting down" to the closed pipe too
    expect(await code).toBe(0);
  });

  it("stops on SIGINT too, and replaces a stale socket file left by a dead server", async () => {
    const sock = join(dir, "stale.sock");
    // A socket file nobody listens on, as a crashed server leaves behind.
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(sock, r));
    // Closing a listening Unix server removes the file, so copy its inode first.
    const { linkSync } = await import("node:fs");
    linkSync(sock, `${sock}.keep`);
    await new Promise<void>((r) => dead.close(() => r()));
    linkSync(`${sock}.keep`, sock);
    const { child } = await start(["--listen", `unix://${sock}`, "--quiet"]);
    const code = exited(child);
    child.kill("SIGINT");
    expect(await code).toBe(0);
    expect(existsSync(sock)).toBe(false);
  });

  it("refuses to take over a socket a live server holds", async () => {
    const sock = join(dir, "live.sock");
    const first = await start(["--listen", `unix://${sock}`, "--quiet"]);
    const second = spawn(process.execPath, [bin, "--listen", `unix://${sock}`]);
    let err = "";
    second.stderr.on("data", (d) => {
      err += d;
    });
    expect(await exited(second)).toBe(1);
    expect(err).toMatch(/another server is listening/);
    first.child.kill("SIGTERM");
    await exited(first.child);
  });

  it("rejects bad flags with usage and exit code 2, an address it cannot listen on with exit code 1", async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [["--bogus"], 2, /^baton-server: Unknown option '--bogus'[\s\S]*Usage: baton-server/],
      [["--tls-cert", "x.pem"], 2, /^baton-server: --tls-cert and --tls-key go together\n\nUsage: baton-server/],
      [["--listen", "ftp://x"], 1, /^baton-server: .*ftp:\/\/x/],
    ];
    for (const [args, want, message] of cases) {
      const child = spawn(process.execPath, [bin, ...args]);
      let err = "";
      child.stderr.on("data", (d) => {
        err += d;
      });
      expect(await exited(child), args.join(" ")).toBe(want);
      expect(err).toMatch(message);
    }
  });

  it("--grpc-socket-path adds a Unix listener serving baaaht, as the seed's flag does", async () => {
    const sock = join(dir, "alias.sock");
    const { child, addresses } = await start(["--listen", "127.0.0.1:0", "--grpc-socket-path", sock, "--quiet"]);
    expect(addresses).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/), `unix://${sock}`]);
    const conn = new Connection({ address: `unix://${sock}` });
    const health = createClient(grpcHealth.Health, conn.transport);
    const res = await callOrThrow(() => health.check({ service: "orchestrator.v1.OrchestratorService" }));
    expect(res.status).toBe(grpcHealth.HealthCheckResponse_ServingStatus.SERVING);
    await conn.close();
    const code = exited(child);
    child.kill("SIGTERM");
    expect(await code).toBe(0);
    expect(existsSync(sock)).toBe(false);
  });

  it("with no --listen: TCP 127.0.0.1:50051 and the baaaht socket, $GRPC_SOCKET_PATH or /tmp/baaaht-grpc.sock", () => {
    // Parsed only: a test must not bind the fixed port or the shared default socket.
    expect(parseCli([], {}).listen).toEqual(["127.0.0.1:50051", "unix:///tmp/baaaht-grpc.sock"]);
    expect(parseCli([], { GRPC_SOCKET_PATH: "/run/b.sock" }).listen).toEqual(["127.0.0.1:50051", "unix:///run/b.sock"]);
    expect(parseCli(["--grpc-socket-path", "/x/y.sock"], { GRPC_SOCKET_PATH: "/run/b.sock" }).listen).toEqual([
      "127.0.0.1:50051",
      "unix:///x/y.sock",
    ]);
    // With --listen, only what is asked for (plus the --grpc-socket-path socket).
    expect(parseCli(["--listen", "127.0.0.1:0"], { GRPC_SOCKET_PATH: "/run/b.sock" }).listen).toEqual(["127.0.0.1:0"]);
    expect(parseCli(["--shutdown-timeout-ms", "250"], {}).shutdownTimeoutMs).toBe(250);
    expect(parseCli([], {}).shutdownTimeoutMs).toBeUndefined();
    const config = join(dir, "shutdown.json");
    writeFileSync(config, JSON.stringify({ shutdownTimeoutMs: 0, grpcSocketPath: "/c/d.sock" }));
    expect(parseCli(["--config", config], {})).toMatchObject({
      shutdownTimeoutMs: 0,
      listen: ["127.0.0.1:50051", "unix:///c/d.sock"],
    });
    for (const bad of ["-1", "1.5", "soon", ""]) {
      expect(() => parseCli(["--shutdown-timeout-ms", bad], {})).toThrow(/--shutdown-timeout-ms/);
    }
  });

  it("on SIGTERM, a follower still open ends with UNAVAILABLE once --shutdown-timeout-ms has passed", async () => {
    const { child, addresses } = await start(["--listen", "127.0.0.1:0", "--shutdown-timeout-ms", "0", "--quiet"]);
    const conn = new Connection({ address: addresses[0] as string });
    const orca = createClient(Orchestrator, conn.transport);
    const { runId } = await orca.startRun({ workflowId: "sigterm" });
    const follower = orca.streamEvents({ runId })[Symbol.asyncIterator]();
    expect((await follower.next()).done).toBe(false);
    const code = exited(child);
    child.kill("SIGTERM");
    await expect(follower.next()).rejects.toMatchObject({ code: 14, rawMessage: "server shutting down" });
    expect(await code).toBe(0);
    await conn.close();
  });
});
