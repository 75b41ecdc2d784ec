// Server streams: StreamEvents replay from baton-server, Baton's `run.events()` next to a
// grpc-js client; and Baton's client memory over a long stream (1M events in the full run)
// served by the bare grpc-js server, which makes events as fast as it can.
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { OrcaClient } from "@baton/orca";
import { grpcJsClient, grpcJsEnvelope, unary } from "../lib/grpc.mjs";
import { addRow } from "../lib/report.mjs";
import { alternate, load } from "../lib/stats.mjs";

/** A full GC, whatever flags the bench was started with (`--expose-gc` set at run time). */
function fullGc() {
  if (typeof globalThis.gc !== "function") {
    setFlagsFromString("--expose-gc");
    globalThis.gc = runInNewContext("gc");
  }
  globalThis.gc();
}

async function countGrpcJs(client, request, want) {
  let got = 0;
  await new Promise((resolve, reject) => {
    const call = client.streamEvents(request);
    call.on("data", () => got++);
    call.on("end", resolve);
    call.on("error", reject);
  });
  if (got !== want) throw new Error(`grpc-js stream gave ${got}/${want}`);
}

/** StreamEvents msg/s, Baton vs grpc-js, on the same baton-server run. */
export async function streamReplay({ cfg, startBaton }) {
  const server = await startBaton();
  const address = server.info.address;
  const orca = new OrcaClient({ address });
  const peer = grpcJsClient(address);
  const n = cfg.streamEvents;
  try {
    const run = await orca.runs.start({ workflowId: "bench-stream" });
    await load(n - 1, 50, (i) => unary(peer, "submitTask", { runId: run.id, task: grpcJsEnvelope(`s-${i}`) }));
    const measure = (fn) => async () => {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await fn();
      const cpu = process.cpuUsage(cpu0);
      return { opsPerSec: n / ((performance.now() - t0) / 1000), clientCpuUsPerOp: (cpu.user + cpu.system) / n };
    };
    const [b, p] = await alternate(
      [
        {
          name: "baton",
          measure: measure(async () => {
            let got = 0;
            for await (const _ of run.events({ max: n, follow: false })) got++;
            if (got !== n) throw new Error(`baton stream gave ${got}/${n}`);
          }),
        },
        {
          name: "grpc-js",
          measure: measure(() => countGrpcJs(peer, { runId: run.id, startEventId: "1", maxEvents: n }, n)),
        },
      ],
      cfg.rounds,
    );
    const section = `StreamEvents replay of ${n.toLocaleString("en-US")} events, same server`;
    addRow({
      section,
      name: "messages/s",
      unit: "msg/s",
      better: "higher",
      baton: b.opsPerSec,
      peer: p.opsPerSec,
      peerName: "grpc-js",
      spread: b.opsPerSecSpread,
      target: 1.0,
    });
    addRow({
      section,
      name: "client CPU per message",
      unit: "µs",
      better: "lower",
      baton: b.clientCpuUsPerOp,
      peer: p.clientCpuUsPerOp,
      peerName: "grpc-js",
    });
  } finally {
    await orca.close();
    peer.close();
    await server.close();
  }
}

/**
 * Baton's client memory over one long stream: the heap after the first tenth of the events
 * and at the end, each read after a full GC, should be about the same (what the stream
 * retains, not how far the collector happens to lag).
 */
export async function streamMemory({ cfg, startPeerGrpc }) {
  const server = await startPeerGrpc();
  const orca = new OrcaClient({ address: server.info.address });
  const n = cfg.memoryEvents;
  try {
    const run = await orca.runs.start({ workflowId: "bench-memory" });
    const heap = () => {
      fullGc();
      return process.memoryUsage().heapUsed;
    };
    let got = 0;
    let early = 0;
    let peak = 0;
    const every = Math.max(1, Math.floor(n / 100));
    const tenth = Math.max(every, Math.floor(n / 10 / every) * every);
    for await (const _ of run.events({ max: n, follow: false })) {
      got++;
      if (got % every === 0) {
        const used = process.memoryUsage().heapUsed;
        if (used > peak) peak = used;
        if (got === tenth) early = heap();
      }
    }
    if (got !== n) throw new Error(`baton stream gave ${got}/${n}`);
    const end = heap();
    const section = `One stream of ${n.toLocaleString("en-US")} events (bare grpc-js server), Baton client memory`;
    const MiB = 2 ** 20;
    addRow({
      section,
      name: "heap at the end vs after the first tenth",
      unit: "MiB",
      better: "lower",
      baton: end / MiB,
      peer: early / MiB,
      peerName: "heap after 1/10",
      target: 1.5,
    });
    addRow({
      section,
      name: "peak heap seen (sampled every 1/100)",
      unit: "MiB",
      better: "lower",
      baton: peak / MiB,
      peer: early / MiB,
      peerName: "heap after 1/10",
    });
  } finally {
    await orca.close();
    await server.close();
  }
}
