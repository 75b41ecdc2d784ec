import { type BaaahtModule, type BatonServer, startServer as start } from "@baton/server";

/** The server as the tests use it. */
export type BatonServerLike = BatonServer;

/** Starts baton-server with only the baaaht module's options the tests need. */
export function startServer(options: { listen: string[]; settings: Record<string, string> }): Promise<BatonServer> {
  return start(options);
}

/** The baaaht module of a running server. */
export function baaahtModule(server: BatonServer): BaaahtModule {
  const m = server.modules.get("baaaht");
  if (!m) throw new Error("the baaaht module is not running");
  return m as BaaahtModule;
}
