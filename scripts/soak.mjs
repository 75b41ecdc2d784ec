// `pnpm soak`: holds 1,000 streams, an idle-connection flood and a slowloris against a
// baton-server child process for a bounded time, while a fresh client checks health every
// half second; reports the health check latency series, the server's RSS and event-loop
// delay (scripts/soak-probe.mjs, loaded into the child, reports them over IPC) and what the
// server did to the hostile connections. Exits 1 if a health check failed (the server
// stopped answering) or the server died, 2 for a bad setting.
//
// Environment: BATON_SOAK_SECONDS (30), BATON_SOAK_STREAMS (1000), BATON_SOAK_IDLE (300
// idle connections), BATON_SOAK_SLOWLORIS (100 connections sending a header byte a second),
// BATON_SOAK_QUICK=1 (8 s, 200 streams, 50 idle, 20 slowloris: the suite's quick mode).
// Extra baton-server flags: BATON_SOAK_SERVER_ARGS (space-separated).
import { spawn } from "node:child_process";
import * as http2 from "node:http2";
import * as net from "node:net";
import { fileURLToPath } from "node:url";

const quick = process.env.BATON_SOAK_QUICK === "1";
function setting(name, fallback, max) {
  const raw = process.env[name];
  const v = raw === undefined ? fallback : Number(raw);
  if (!Number.isSafeInteger(v) || v < 0 || v > max) {
    console.error(`soak: ${name} must be an integer from 0 to ${max}, got ${raw}`);
    process.exit(2);
  }
  return v;
}
const SECONDS = Math.max(1, setting("BATON_SOAK_SECONDS", quick ? 8 : 30, 3600));
const STREAMS = setting("BATON_SOAK_STREAMS", quick ? 200 : 1000, 100_000);
const IDLE = setting("BATON_SOAK_IDLE", quick ? 50 : 300, 20_000);
const SLOWLORIS = setting("BATON_SOAK_SLOWLORIS", quick ? 20 : 100, 20_000);
const STREAMS_PER_SESSION = 100;
const HEALTH_EVERY_MS = 500;
const HEALTH_TIMEOUT_MS = 10_000;

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = fileURLToPath(new URL("../packages/server/dist/bin.js", import.meta.url));
const probe = fileURLToPath(new URL("./soak-probe.mjs", import.meta.url));
const extra = (process.env.BATON_SOAK_SERVER_ARGS ?? "").split(" ").filter(Boolean);

const args = ["--import", probe, bin, "--listen", "127.0.0.1:0", "--log-level", "warn", ...extra];
const child = spawn(process.execPath, args, {
  cwd: root,
  stdio: ["ignore", "pipe", "inherit", "ipc"],
});
/** Set when the child exits before the soak stops it. */
let exited;
let stopping = false;
child.on("exit", (code, signal) => {
  if (!stopping) exited = { code, signal };
});
const probes = [];
child.on("message", (m) => {
  if (m?.kind === "probe") probes.push({ t: Date.now(), ...m });
});

/** The address the child prints (`baton-server listening on 127.0.0.1:PORT`). */
const address = await new Promise((resolve, reject) => {
  let out = "";
  const timer = setTimeout(() => reject(new Error(`baton-server did not start: ${out}`)), 20_000);
  child.stdout.on("data", (d) => {
    out += d;
    const m = /listening on (\d+\.\d+\.\d+\.\d+:\d+)/.exec(out);
    if (m) {
      clearTimeout(timer);
      resolve(m[1]);
    }
  });
  child.once("exit", () => reject(new Error(`baton-server exited before listening: ${out}`)));
}).catch((err) => {
  console.error(`soak: ${err.message}`);
  child.kill("SIGKILL");
  process.exit(1);
});
child.stdout.resume();
const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
console.log(
  `soak: baton-server pid ${child.pid} on ${address}; ${SECONDS} s, ${STREAMS} streams, ${IDLE} idle connections, ${SLOWLORIS} slowloris connections`,
);

const HEALTH = "/grpc.health.v1.Health";
const EMPTY_FRAME = Buffer.from([0, 0, 0, 0, 0]);

// 1. Streams: Health/Watch (it answers once, then stays open) over sessions of 100 streams.
const streams = { opened: 0, open: 0, endedByServer: 0, messages: 0 };
const sessions = [];
for (let i = 0; i < Math.ceil(STREAMS / STREAMS_PER_SESSION); i++) {
  const s = http2.connect(`http://${address}`);
  s.on("error", () => {});
  sessions.push(s);
  for (let j = 0; j < STREAMS_PER_SESSION && streams.opened < STREAMS; j++) {
    const st = s.request({
      ":method": "POST",
      ":path": `${HEALTH}/Watch`,
      "content-type": "application/grpc",
      te: "trailers",
    });
    streams.opened++;
    streams.open++;
    st.on("data", () => {
      streams.messages++;
    });
    st.on("error", () => {});
    st.on("close", () => {
      streams.open--;
      if (!stopping) streams.endedByServer++;
    });
    st.end(EMPTY_FRAME);
  }
}

// 2 and 3. Idle connections (send nothing) and slowloris (a header byte a second); each one
// the server closes is counted and replaced, so the pressure holds for the whole run.
const hostile = { idle: { open: 0, closedByServer: 0 }, slowloris: { open: 0, closedByServer: 0 } };
const lorisSockets = new Set();
function openHostile(kind) {
  if (stopping) return;
  const socket = net.connect(port, host);
  const h = hostile[kind];
  h.open++;
  socket.on("error", () => {});
  socket.on("data", () => {});
  socket.on("close", () => {
    h.open--;
    lorisSockets.delete(socket);
    if (!stopping) {
      h.closedByServer++;
      setTimeout(() => openHostile(kind), 100).unref();
    }
  });
  if (kind === "slowloris") {
    socket.on("connect", () => socket.write("GET /v1/workspaces HTTP/1.1\r\nHost: soak\r\nX-Slow: "));
    lorisSockets.add(socket);
  }
}
for (let i = 0; i < IDLE; i++) openHostile("idle");
for (let i = 0; i < SLOWLORIS; i++) openHostile("slowloris");
const drip = setInterval(() => {
  for (const s of lorisSockets) if (!s.destroyed) s.write("a");
}, 1000);

// 4. Health checks from a fresh connection every half second: the latency series.
const health = [];
function checkHealth() {
  const started = performance.now();
  return new Promise((resolve) => {
    const s = http2.connect(`http://${address}`);
    s.on("error", () => {});
    let status;
    let finished = false;
    const done = (ok, why) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      s.destroy();
      health.push({ t: Date.now(), ms: Math.round((performance.now() - started) * 10) / 10, ok, why });
      resolve();
    };
    const timer = setTimeout(() => done(false, `no answer in ${HEALTH_TIMEOUT_MS} ms`), HEALTH_TIMEOUT_MS);
    const st = s.request({
      ":method": "POST",
      ":path": `${HEALTH}/Check`,
      "content-type": "application/grpc",
      te: "trailers",
    });
    st.on("response", (h) => {
      status ??= h["grpc-status"];
    });
    st.on("trailers", (t) => {
      status = t["grpc-status"];
    });
    st.on("error", (e) => done(false, e.message));
    st.resume();
    st.on("close", () => done(status === "0", status === "0" ? undefined : `grpc-status ${status}`));
    st.end(EMPTY_FRAME);
  });
}

const startedAt = Date.now();
const deadline = startedAt + SECONDS * 1000;
let lastReport = startedAt;
while (Date.now() < deadline && exited === undefined) {
  await checkHealth();
  if (Date.now() - lastReport >= 5000) {
    lastReport = Date.now();
    const p = probes.at(-1);
    console.log(
      `soak: ${Math.round((Date.now() - startedAt) / 1000)} s: streams open ${streams.open}/${streams.opened}, idle ${hostile.idle.open} (closed ${hostile.idle.closedByServer}), slowloris ${hostile.slowloris.open} (closed ${hostile.slowloris.closedByServer}), health ${health.at(-1)?.ms} ms, rss ${p ? Math.round(p.rss / 1048576) : "?"} MB, loop delay p99 ${p?.loopDelayMs.p99 ?? "?"} ms`,
    );
  }
  await new Promise((r) => setTimeout(r, HEALTH_EVERY_MS));
}

// Tear down: our connections first, then SIGTERM (the server drains and exits).
stopping = true;
clearInterval(drip);
const openAtEnd = streams.open;
for (const s of sessions) s.destroy();
for (const s of lorisSockets) s.destroy();
child.kill("SIGTERM");
const exitedCleanly = await new Promise((resolve) => {
  if (exited !== undefined || child.exitCode !== null) return resolve(child.exitCode === 0 && exited === undefined);
  const timer = setTimeout(() => {
    child.kill("SIGKILL");
    resolve(false);
  }, 30_000);
  child.once("exit", (code) => {
    clearTimeout(timer);
    resolve(code === 0);
  });
});

const pct = (xs, q) => {
  if (xs.length === 0) return undefined;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
};
const ok = health.filter((h) => h.ok);
const failed = health.filter((h) => !h.ok);
const latencies = ok.map((h) => h.ms);
const rss = probes.map((p) => p.rss);
const report = {
  seconds: SECONDS,
  server: { address, diedDuringRun: exited !== undefined, exitedCleanlyOnSigterm: exitedCleanly },
  health: {
    checks: health.length,
    failed: failed.length,
    failures: failed.slice(0, 10).map((h) => `${new Date(h.t).toISOString()}: ${h.why}`),
    latencyMs: { p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), max: pct(latencies, 1) },
    series: health.map((h) => (h.ok ? h.ms : null)),
  },
  streams: { ...streams, openAtEnd },
  idle: hostile.idle,
  slowloris: hostile.slowloris,
  rssMb: {
    first: rss[0] && Math.round(rss[0] / 1048576),
    max: rss.length ? Math.round(Math.max(...rss) / 1048576) : undefined,
    last: rss.at(-1) && Math.round(rss.at(-1) / 1048576),
  },
  loopDelayMs: {
    p99Max: probes.length ? Math.max(...probes.map((p) => p.loopDelayMs.p99)) : undefined,
    max: probes.length ? Math.max(...probes.map((p) => p.loopDelayMs.max)) : undefined,
  },
};
console.log(`soak: report ${JSON.stringify(report)}`);
const answered = failed.length === 0 && exited === undefined && health.length > 0;
console.log(
  answered
    ? `soak: PASS: ${health.length} health checks answered (p99 ${report.health.latencyMs.p99} ms); ${openAtEnd} of ${streams.opened} streams still open at the end`
    : `soak: FAIL: the server stopped answering (${failed.length} of ${health.length} health checks failed${exited ? `, server exited ${JSON.stringify(exited)}` : ""})`,
);
process.exit(answered ? 0 : 1);
