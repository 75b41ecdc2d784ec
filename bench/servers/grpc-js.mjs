// The bare peer server: orca.v1.Orchestrator on @grpc/grpc-js with no rules at all.
// SubmitTask answers accepted and sends one event to every following StreamEvents call
// (fan-out); StreamEvents with max_events replays that many prepared events, without it
// follows. It is the floor of what a gRPC server must spend per call.
import { grpc, Orchestrator } from "../lib/grpc.mjs";
import { serveParent } from "../lib/procs.mjs";

const followers = new Set();
let seq = 0;
const eventOf = (id) => ({
  event: {
    id: String(id),
    parentId: "",
    traceId: "",
    agent: "orchestrator",
    kind: "task_enqueued",
    payloadJson: '{"task_id":"t","kind":"agent_task","payload":{}}',
    timeoutMs: "0",
    protocolVersion: 1,
    tsMs: String(Date.now()),
  },
});
const server = new grpc.Server();
server.addService(Orchestrator.service, {
  startRun(call, cb) {
    cb(null, { runId: call.request.workflowId });
  },
  submitTask(_call, cb) {
    cb(null, { accepted: true });
    if (followers.size === 0) return;
    const ev = eventOf(++seq);
    for (const stream of followers) stream.write(ev);
  },
  streamEvents(call) {
    const max = Number(call.request.maxEvents);
    if (max > 0) {
      let i = 0;
      const pump = () => {
        while (i < max) if (!call.write(eventOf(++i))) return call.once("drain", pump);
        call.end();
      };
      pump();
      return;
    }
    followers.add(call);
    call.on("cancelled", () => followers.delete(call));
    call.on("close", () => followers.delete(call));
  },
  fetchResult(_call, cb) {
    cb({ code: grpc.status.NOT_FOUND, details: "no results here" });
  },
});
const port = await new Promise((resolve, reject) =>
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) =>
    err ? reject(err) : resolve(p),
  ),
);
if (process.send) {
  serveParent(
    { address: `127.0.0.1:${port}` },
    {
      onClose: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
      handlers: { followers: async () => ({ count: followers.size }) },
    },
  );
} else {
  process.stdout.write(`grpc-js server listening on 127.0.0.1:${port}\n`);
}
