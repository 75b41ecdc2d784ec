// Shared by the server's gRPC tests: a whole baton-server on a free port with a core
// Connection to it, and the ConnectError a call fails with.
import { Connection } from "@baton/core";
import { type BatonServer, type Clock, startServer } from "@baton/server";
import { ConnectError } from "@connectrpc/connect";

/** A running server and a connection to its TCP address. */
export interface RpcHarness {
  server: BatonServer;
  connection: Connection;
  /** Closes the connection, then the server. */
  close(): Promise<void>;
}

/** Starts baton-server (every module) on 127.0.0.1:0 with these settings and clock. */
export async function startRpc(settings: Record<string, string> = {}, clock?: Clock): Promise<RpcHarness> {
  const server = await startServer({ listen: ["127.0.0.1:0"], settings, ...(clock ? { clock } : {}) });
  const connection = new Connection({ address: server.addresses[0] as string });
  return {
    server,
    connection,
    async close() {
      await connection.close();
      await server.close();
    },
  };
}

/** The ConnectError a call fails with; fails the test when the call succeeds. */
export async function refusal(p: Promise<unknown>): Promise<ConnectError> {
  const outcome = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (outcome === undefined) throw new Error("expected the call to fail");
  return ConnectError.from(outcome);
}
