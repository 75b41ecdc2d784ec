// baton-server's CPU per call, read from the server process (process.cpuUsage over IPC),
// next to bare peer servers driven by the same client: a grpc-js server for unary gRPC
// (grpc-js client, 50 in flight) and a node:http JSON server for REST (undici, 50 in flight).
import { request } from "undici";
import { grpcJsClient, grpcJsEnvelope, unary } from "../lib/grpc.mjs";
import { addRow } from "../lib/report.mjs";
import { alternate, load } from "../lib/stats.mjs";
import { portariumFixture } from "./portarium.mjs";

const IN_FLIGHT = 50;

/** Unary gRPC: SubmitTask on baton-server vs the bare grpc-js server. */
export async function serverCpuUnary({ cfg, startBaton, startPeerGrpc }) {
  const baton = await startBaton();
  const bare = await startPeerGrpc();
  const calls = cfg.unaryCalls(IN_FLIGHT);
  const variant = async (name, server) => {
    const client = grpcJsClient(server.info.address);
    const { runId } = await unary(client, "startRun", { workflowId: `bench-cpu-${name}` });
    let n = 0;
    const call = () => unary(client, "submitTask", { runId, task: grpcJsEnvelope(`c-${++n}`) });
    return {
      name,
      server,
      client,
      measure: (warm) => load(warm ? Math.min(calls, cfg.warmup) : calls, IN_FLIGHT, call),
    };
  };
  const variants = [await variant("baton-server", baton), await variant("grpc-js server", bare)];
  try {
    const [b, p] = await alternate(variants, cfg.rounds, calls);
    addRow({
      section: "Server CPU per call (server process), same client",
      name: "unary SubmitTask (grpc-js client, 50 in flight)",
      unit: "µs",
      better: "lower",
      baton: b.serverCpuUsPerOp,
      peer: p.serverCpuUsPerOp,
      peerName: "bare grpc-js server",
      spread: b.serverCpuUsPerOpSpread,
      target: 2.0,
    });
  } finally {
    for (const v of variants) v.client.close();
    await baton.close();
    await bare.close();
  }
}

/** REST: Portarium GetRun on baton-server vs the bare node:http JSON server. */
export async function serverCpuRest({ cfg, startBaton, startPeerHttp }) {
  const baton = await startBaton();
  const bare = await startPeerHttp();
  const calls = cfg.restCalls;
  try {
    const fx = await portariumFixture(baton.info.address, 50);
    const get = (base, headers) => async (i) => {
      const res = await request(`${base}${fx.runPath(i)}`, { headers });
      if (res.statusCode !== 200) throw new Error(`GET answered ${res.statusCode}`);
      await res.body.json();
    };
    const variants = [
      { name: "baton-server", server: baton, fn: get(`http://${baton.info.address}`, fx.headers) },
      { name: "node:http", server: bare, fn: get(`http://${bare.info.address}`, fx.headers) },
    ].map((v) => ({ ...v, measure: (warm) => load(warm ? Math.min(calls, cfg.warmup) : calls, IN_FLIGHT, v.fn) }));
    const [b, p] = await alternate(variants, cfg.rounds, calls);
    addRow({
      section: "Server CPU per call (server process), same client",
      name: "REST GET run (undici.request, 50 in flight)",
      unit: "µs",
      better: "lower",
      baton: b.serverCpuUsPerOp,
      peer: p.serverCpuUsPerOp,
      peerName: "bare node:http JSON server",
      spread: b.serverCpuUsPerOpSpread,
    });
    await fx.close();
  } finally {
    await baton.close();
    await bare.close();
  }
}
