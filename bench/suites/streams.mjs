// Server streams: StreamEvents from baton-server and from a bare HTTP/2 source, Baton's
// `run.events()` next to a grpc-js client; and Baton's client memory over a long stream (1M events in the full run)
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

/**
 * StreamEvents replays of `run`'s first `n` events, Baton's `run.events()` next to a grpc-js
 * client (a `data` listener), alternating; with `server`, its CPU per message too. Adds the
 * rows of `section`.
 */
async function compareReplay({ cfg, orca, address, runId, n, section, server, target }) {
  const run = orca.runs.getHandle(runId);
  const peer = grpcJsClient(address);
  try {
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
          server,
          measure: measure(async () => {
            let got = 0;
            for await (const _ of run.events({ max: n, follow: false })) got++;
            if (got !== n) throw new Error(`baton stream gave ${got}/${n}`);
          }),
        },
        {
          name: "grpc-js",
          server,
          measure: measure(() => countGrpcJs(peer, { runId, startEventId: "1", maxEvents: n }, n)),
        },
      ],
      cfg.streamRounds,
      n,
    );
    addRow({
      section,
      name: "messages/s",
      unit: "msg/s",
      better: "higher",
      baton: b.opsPerSec,
      peer: p.opsPerSec,
      peerName: "grpc-js",
      spread: b.opsPerSecSpread,
      target,
    });
    addRow({
      section,
      name: "client CPU per message",
      unit: "µs",
      better: "lower",
      baton: b.clientCpuUsPerOp,
      peer: p.clientCpuUsPerOp,
      peerName: "grpc-js",
      spread: b.clientCpuUsPerOpSpread,
    });
    if (server)
      addRow({
        section,
        name: "server CPU per message (same server, each client's rounds)",
        unit: "µs",
        better: "lower",
        baton: b.serverCpuUsPerOp,
        peer: p.serverCpuUsPerOp,
        peerName: "grpc-js",
        spread: b.serverCpuUsPerOpSpread,
      });
  } finally {
    peer.close();
  }
}

/**
 * StreamEvents msg/s, Baton vs grpc-js: from baton-server (a real replay; the server's CPU
 * per message bounds both clients), and from a bare HTTP/2 source that writes events
 * encoded once as fast as the socket takes them (the client is the bottleneck: the clients'
 * own speed).
 */
export async function streamReplay({ cfg, startBaton, startBareStream }) {
  const n = cfg.streamEvents;
  const count = n.toLocaleString("en-US");
  const server = await startBaton();
  const orca = new OrcaClient({ address: server.info.address });
  const filler = grpcJsClient(server.info.address);
  try {
    const run = await orca.runs.start({ workflowId: "bench-stream" });
    await load(n - 1, 50, (i) => unary(filler, "submitTask", { runId: run.id, task: grpcJsEnvelope(`s-${i}`) }));
    await compareReplay({
      cfg,
      orca,
      address: server.info.address,
      runId: run.id,
      n,
      server,
      section: `StreamEvents replay of ${count} events from baton-server`,
      target: 1.0,
    });
  } finally {
    filler.close();
    await orca.close();
    await server.close();
  }
  const bare = await startBareStream();
  const client = new OrcaClient({ address: bare.info.address });
  try {
    await compareReplay({
      cfg,
      orca: client,
      address: bare.info.address,
      runId: "bench-stream",
      n,
      section: `StreamEvents of ${count} events from a bare HTTP/2 source (the client is the bottleneck)`,
      target: 1.0,
    });
  } finally {
    await client.close();
    await bare.close();
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
