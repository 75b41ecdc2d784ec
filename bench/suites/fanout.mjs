// Fan-out: one run followed by many StreamEvents calls (grpc-js client, one connection),
// then tasks submitted one by one; each task's event goes to every stream. Server CPU per
// delivery on baton-server next to the bare grpc-js server, which writes each event to
// every follower.
import { grpcJsClient, grpcJsEnvelope, unary } from "../lib/grpc.mjs";
import { addRow } from "../lib/report.mjs";
import { alternate } from "../lib/stats.mjs";

const WAIT_MS = 120_000;

async function fanoutVariant(name, server, streams, events) {
  const client = grpcJsClient(server.info.address);
  const { runId } = await unary(client, "startRun", { workflowId: `bench-fanout-${name}` });
  let delivered = 0;
  let wake;
  const calls = [];
  for (let i = 0; i < streams; i++) {
    // baton-server's log holds the start_run event (id 1): follow from the next one.
    const call = client.streamEvents({ runId, startEventId: "2" });
    call.on("data", () => {
      delivered++;
      wake?.();
    });
    call.on("error", () => {});
    calls.push(call);
  }
  let n = 0;
  const submit = () => unary(client, "submitTask", { runId, task: grpcJsEnvelope(`f-${++n}`) });
  const until = async (target) => {
    const deadline = Date.now() + WAIT_MS;
    while (delivered < target) {
      if (Date.now() > deadline) throw new Error(`${name}: ${delivered}/${target} deliveries after ${WAIT_MS} ms`);
      await new Promise((resolve) => {
        wake = resolve;
        setTimeout(resolve, 100).unref();
      });
    }
  };
  // Every stream is attached once each has the primer's event.
  await submit();
  await until(streams);
  return {
    name,
    server,
    async measure() {
      const target = delivered + streams * events;
      const t0 = performance.now();
      for (let k = 0; k < events; k++) await submit();
      await until(target);
      const ops = streams * events;
      return { ops, deliveriesPerSec: ops / ((performance.now() - t0) / 1000) };
    },
    close() {
      for (const c of calls) c.cancel();
      client.close();
    },
  };
}

/** Fan-out to `cfg.fanoutStreams` streams. */
export async function fanout({ cfg, startBaton, startPeerGrpc }) {
  const baton = await startBaton();
  const bare = await startPeerGrpc();
  const streams = cfg.fanoutStreams;
  const variants = [
    await fanoutVariant("baton-server", baton, streams, cfg.fanoutEvents),
    await fanoutVariant("grpc-js server", bare, streams, cfg.fanoutEvents),
  ];
  try {
    const [b, p] = await alternate(variants, cfg.rounds);
    const section = `Fan-out: ${cfg.fanoutEvents} events to ${streams.toLocaleString("en-US")} streams each`;
    addRow({
      section,
      name: "server CPU per delivery",
      unit: "µs",
      better: "lower",
      baton: b.serverCpuUsPerOp,
      peer: p.serverCpuUsPerOp,
      peerName: "bare grpc-js server",
      spread: b.serverCpuUsPerOpSpread,
      target: 2.0,
    });
    addRow({
      section,
      name: "deliveries/s",
      unit: "msg/s",
      better: "higher",
      baton: b.deliveriesPerSec,
      peer: p.deliveriesPerSec,
      peerName: "bare grpc-js server",
      spread: b.deliveriesPerSecSpread,
    });
  } finally {
    for (const v of variants) v.close();
    await baton.close();
    await bare.close();
  }
}
