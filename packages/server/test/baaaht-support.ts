// A baaaht-only baton-server for the server's own tests, called with the generated Connect
// clients over a core connection: the server's tests use no client package.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Connection } from "@baton/core";
import {
  type BaaahtModule,
  type BatonServer,
  baaahtModule,
  type Clock,
  type ContainerRuntime,
  startServer,
} from "@baton/server";
import { AgentService, GatewayService, grpcHealth, OrchestratorService } from "@baton/wire/baaaht";
import { type Client, createClient } from "@connectrpc/connect";

/** A running baaaht server (Unix socket and TCP) and raw clients of each service over TCP. */
export interface BaaahtHarness {
  server: BatonServer;
  module: BaaahtModule;
  socketPath: string;
  orchestrator: Client<typeof OrchestratorService>;
  agent: Client<typeof AgentService>;
  gateway: Client<typeof GatewayService>;
  health: Client<typeof grpcHealth.Health>;
  /** Stops the server (if the test did not) and removes the temp dir. */
  close(): Promise<void>;
}

/** Starts baton-server with only the baaaht module, on a Unix socket and a free TCP port. */
export async function startBaaaht(
  options: { clock?: Clock; settings?: Record<string, string>; runtime?: ContainerRuntime } = {},
): Promise<BaaahtHarness> {
  const dir = mkdtempSync(join(tmpdir(), "baton-baaaht-"));
  const socketPath = join(dir, "b.sock");
  const server = await startServer({
    listen: [`unix://${socketPath}`, "127.0.0.1:0"],
    modules: [baaahtModule(options.runtime ? { runtime: options.runtime } : {})],
    ...(options.clock ? { clock: options.clock } : {}),
    settings: { "baaaht.streamHeartbeatMs": "50", ...options.settings },
  });
  const connection = new Connection({ address: server.addresses[1] as string });
  return {
    server,
    module: server.modules.get("baaaht") as BaaahtModule,
    socketPath,
    orchestrator: createClient(OrchestratorService, connection.transport),
    agent: createClient(AgentService, connection.transport),
    gateway: createClient(GatewayService, connection.transport),
    health: createClient(grpcHealth.Health, connection.transport),
    async close() {
      await connection.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
