// The bare peer REST server: node:http answering every GET with a JSON run, as the floor
// of what a JSON-over-HTTP/1.1 server must spend per request.
import * as http from "node:http";
import { serveParent } from "../lib/procs.mjs";

const server = http.createServer({ noDelay: true, keepAliveTimeout: 30_000 }, (req, res) => {
  const runId = req.url?.split("/").pop() ?? "";
  const body = JSON.stringify({
    schemaVersion: 1,
    runId,
    workspaceId: "ws-bench",
    workflowId: "wf-1",
    correlationId: "c-1",
    executionTier: "Auto",
    initiatedByUserId: "bench",
    status: "Running",
    createdAtIso: new Date().toISOString(),
  });
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address();
serveParent(
  { address: `127.0.0.1:${port}` },
  {
    onClose: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  },
);
