import { mkdtempSync, rmSync } from "node:fs";
import * as http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";

/** A tiny connect-node server on a Unix socket, answering what a test needs (and nothing else). */
export interface FakeServer {
  /** `unix:///...` */
  address: string;
  close(): Promise<void>;
}

/** Starts a gRPC server on a fresh Unix socket with the given routes. */
export async function startFakeServer(routes: (router: ConnectRouter) => void): Promise<FakeServer> {
  const dir = mkdtempSync(join(tmpdir(), "baaaht-fake-"));
  const path = join(dir, "fake.sock");
  const server = http2.createServer(connectNodeAdapter({ routes }));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  return {
    address: `unix://${path}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
}
