// Portarium GetRun: the Baton client (`portarium.runs.get`) next to `undici.request` with
// the same bearer token, against the same baton-server, sequential and at 50 in flight.
import { PortariumClient } from "@baton/portarium";
import { request } from "undici";
import { addRow } from "../lib/report.mjs";
import { alternate, load } from "../lib/stats.mjs";

/**
 * A workspace with `runs` runs on the baton-server at `address`, a Portarium client of it,
 * and a bearer token for requests made without the client.
 */
export async function portariumFixture(address, runs) {
  const base = `http://${address}`;
  const client = new PortariumClient({
    address: base,
    clientCredentials: { clientId: "bench", clientSecret: "secret" },
    workspaceId: "ws-bench",
  });
  const wf = await client.workflows.create({
    name: "bench",
    executionTier: "Auto",
    actions: [{ actionId: "a1", order: 1, portFamily: "FinanceAccounting", operation: "invoice.approve" }],
  });
  const runIds = [];
  for (let i = 0; i < runs; i++) runIds.push((await client.runs.start({ workflowId: wf.workflowId })).runId);
  const res = await request(`${base}/v1/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ clientId: "bench", clientSecret: "secret", workspaceId: "ws-bench" }),
  });
  const { accessToken } = await res.body.json();
  if (!accessToken) throw new Error(`no token: ${res.statusCode}`);
  return {
    client,
    runIds,
    headers: { authorization: `Bearer ${accessToken}`, accept: "application/json" },
    runPath: (i) => `/v1/workspaces/ws-bench/runs/${runIds[i % runIds.length]}`,
    close: () => client.close(),
  };
}

/** GetRun, Baton vs undici.request. */
export async function portariumGetRun({ cfg, startBaton }) {
  const server = await startBaton();
  const base = `http://${server.info.address}`;
  try {
    const fx = await portariumFixture(server.info.address, 50);
    const baton = (i) => fx.client.runs.get(fx.runIds[i % fx.runIds.length]);
    const undici = async (i) => {
      const res = await request(`${base}${fx.runPath(i)}`, { headers: fx.headers });
      if (res.statusCode !== 200) throw new Error(`GET answered ${res.statusCode}`);
      await res.body.json();
    };
    for (const inFlight of [1, 50]) {
      const calls = inFlight === 1 ? cfg.unaryCalls(1) : cfg.restCalls;
      const [b, p] = await alternate(
        [
          {
            name: "baton",
            server,
            measure: (warm) => load(warm ? Math.min(calls, cfg.warmup) : calls, inFlight, baton),
          },
          {
            name: "undici",
            server,
            measure: (warm) => load(warm ? Math.min(calls, cfg.warmup) : calls, inFlight, undici),
          },
        ],
        cfg.restRounds,
        calls,
      );
      const label = inFlight === 1 ? "sequential" : `${inFlight} in flight`;
      const section = "Portarium GetRun (REST, HTTP/1.1): Baton client vs undici.request, same server";
      addRow({
        section,
        name: `calls/s, ${label}`,
        unit: "calls/s",
        better: "higher",
        baton: b.opsPerSec,
        peer: p.opsPerSec,
        peerName: "undici.request",
        spread: b.opsPerSecSpread,
        target: 0.9,
      });
      addRow({
        section,
        name: `client CPU per call, ${label}`,
        unit: "µs",
        better: "lower",
        baton: b.clientCpuUsPerOp,
        peer: p.clientCpuUsPerOp,
        peerName: "undici.request",
      });
      addRow({
        section,
        name: `server CPU per call, ${label}`,
        unit: "µs",
        better: "lower",
        baton: b.serverCpuUsPerOp,
        peer: p.serverCpuUsPerOp,
        peerName: "undici.request",
      });
    }
    await fx.close();
  } finally {
    await server.close();
  }
}
