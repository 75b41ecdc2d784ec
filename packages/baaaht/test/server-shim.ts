import { type BaaahtModule, type BatonServer, type Clock, startServer as start } from "@baton/server";

/** The server as the tests use it. */
export type BatonServerLike = BatonServer;

/** Starts baton-server with only the options the baaaht tests need. */
export function startServer(options: {
  listen: string[];
  settings: Record<string, string>;
  clock?: Clock | undefined;
}): Promise<BatonServer> {
  const { clock, ...rest } = options;
  return start({ ...rest, ...(clock ? { clock } : {}) });
}

/** The baaaht module of a running server. */
export function baaahtModule(server: BatonServer): BaaahtModule {
  const m = server.modules.get("baaaht");
  if (!m) throw new Error("the baaaht module is not running");
  return m as BaaahtModule;
}
