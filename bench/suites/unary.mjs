// Unary SubmitTask against baton-server: Baton's default client (gRPC over HTTP/2) next to
// an @grpc/grpc-js client of the same proto, at 1 to 1,000 calls in flight (throughput,
// client CPU per call, p50/p99), then every Baton protocol and HTTP version next to grpc-js.
import { OrcaClient } from "@baton/orca";
import { grpcJsClient, grpcJsEnvelope, unary } from "../lib/grpc.mjs";
import { addRow } from "../lib/report.mjs";
import { alternate, load } from "../lib/stats.mjs";

let seq = 0;

/** A Baton variant: an OrcaClient with `options`, submitting to its own run. */
async function batonVariant(name, address, options) {
  const orca = new OrcaClient({ address, ...options });
  const run = await orca.runs.start({ workflowId: `bench-${name}-${++seq}` });
  return { name, client: orca, call: () => run.submit({ payload: {} }), close: () => orca.close() };
}

async function grpcJsVariant(address) {
  const client = grpcJsClient(address);
  const { runId } = await unary(client, "startRun", { workflowId: `bench-grpc-js-${++seq}` });
  let n = 0;
  return {
    name: "grpc-js",
    call: () => unary(client, "submitTask", { runId, task: grpcJsEnvelope(`g-${++n}`) }),
    close: () => client.close(),
  };
}

function measured(v, calls, inFlight, warmup) {
  return { name: v.name, measure: (warm) => load(warm ? Math.min(calls, warmup) : calls, inFlight, v.call) };
}

/** Default client vs grpc-js at each concurrency. */
export async function unaryVsGrpcJs({ cfg, startBaton }) {
  const server = await startBaton();
  const address = server.info.address;
  const baton = await batonVariant("default", address, {});
  const peer = await grpcJsVariant(address);
  const section = "Unary SubmitTask: Baton default (gRPC, HTTP/2) vs @grpc/grpc-js client, same server";
  try {
    for (const inFlight of cfg.inFlight) {
      const calls = cfg.unaryCalls(inFlight);
      const [b, p] = await alternate(
        [measured(baton, calls, inFlight, cfg.warmup), measured(peer, calls, inFlight, cfg.warmup)],
        cfg.rounds,
      );
      const label = inFlight === 1 ? "sequential" : `${inFlight.toLocaleString("en-US")} in flight`;
      const hasTarget = [1, 50, 1000].includes(inFlight);
      const common = { section, peerName: "grpc-js" };
      addRow({
        ...common,
        name: `calls/s, ${label}`,
        unit: "calls/s",
        better: "higher",
        baton: b.opsPerSec,
        peer: p.opsPerSec,
        spread: b.opsPerSecSpread,
        ...(hasTarget ? { target: 1.0 } : {}),
      });
      addRow({
        ...common,
        name: `client CPU per call, ${label}`,
        unit: "µs",
        better: "lower",
        baton: b.clientCpuUsPerOp,
        peer: p.clientCpuUsPerOp,
        spread: b.clientCpuUsPerOpSpread,
        ...(hasTarget ? { target: 1.0 } : {}),
      });
      if ([1, 10, 100, 1000].includes(inFlight)) {
        addRow({ ...common, name: `p50, ${label}`, unit: "ms", better: "lower", baton: b.p50Ms, peer: p.p50Ms });
        addRow({ ...common, name: `p99, ${label}`, unit: "ms", better: "lower", baton: b.p99Ms, peer: p.p99Ms });
      }
    }
  } finally {
    await baton.close();
    peer.close();
    await server.close();
  }
}

/** Every Baton protocol and HTTP version vs grpc-js, sequential and at 50 in flight. */
export async function protocols({ cfg, startBaton }) {
  const server = await startBaton();
  const address = server.info.address;
  const variants = [
    await batonVariant("grpc h2 (lean transport)", address, { protocol: "grpc", grpcTransport: "lean" }),
    await batonVariant("grpc h2 (connect-node transport)", address, {
      protocol: "grpc",
      grpcTransport: "connect-node",
    }),
    await batonVariant("connect h2", address, { protocol: "connect" }),
    await batonVariant("connect h1.1", address, { protocol: "connect", httpVersion: "1.1" }),
    await batonVariant("connect h1.1 (connect-node transport)", address, {
      protocol: "connect",
      httpVersion: "1.1",
      http1Transport: "connect-node",
    }),
    await batonVariant("grpc-web h2", address, { protocol: "grpc-web" }),
    await batonVariant("grpc-web h1.1", address, { protocol: "grpc-web", httpVersion: "1.1" }),
    await batonVariant("grpc-web h1.1 (connect-node transport)", address, {
      protocol: "grpc-web",
      httpVersion: "1.1",
      http1Transport: "connect-node",
    }),
  ];
  const peer = await grpcJsVariant(address);
  try {
    for (const inFlight of [1, 50]) {
      const calls = cfg.unaryCalls(inFlight);
      const results = await alternate(
        [...variants, peer].map((v) => measured(v, calls, inFlight, cfg.warmup)),
        cfg.rounds,
      );
      const p = results.at(-1);
      const label = inFlight === 1 ? "sequential" : `${inFlight} in flight`;
      for (const b of results.slice(0, -1)) {
        const h1 = b.name.endsWith("h1.1");
        addRow({
          section: `Every Baton protocol vs @grpc/grpc-js, unary SubmitTask, ${label}`,
          name: b.name,
          unit: "calls/s",
          better: "higher",
          baton: b.opsPerSec,
          peer: p.opsPerSec,
          peerName: "grpc-js",
          spread: b.opsPerSecSpread,
          ...(h1 && inFlight === 1 ? { target: 1.2 } : {}),
        });
      }
    }
  } finally {
    for (const v of variants) await v.close();
    peer.close();
    await server.close();
  }
}
