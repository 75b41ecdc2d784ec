// The server under test: baton-server (every module), in this process, on a free port.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "@baton/server";
import { serveParent } from "../lib/procs.mjs";

const dir = mkdtempSync(join(tmpdir(), "baton-bench-"));
const server = await startServer({
  listen: ["127.0.0.1:0"],
  // The CPU and fan-out suites submit more envelopes to one run than the default cap, and
  // the stream replay reads back more events than a run keeps by default (10,000).
  settings: {
    "portarium.serviceAccounts": "bench:secret:ws-bench",
    "orca.maxTasksPerRun": "10000000",
    "orca.maxEventsPerRun": "10000000",
  },
});
serveParent(
  { address: server.addresses[0] },
  {
    onClose: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  },
);
