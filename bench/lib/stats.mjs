// Numbers of the bench: medians, spreads, percentiles and a closed-loop load runner.

/** The median of `xs` (NaN when empty). */
export function median(xs) {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Spread of `xs` around its median: (max - min) / median, as a fraction. */
export function spread(xs) {
  if (xs.length < 2) return 0;
  return (Math.max(...xs) - Math.min(...xs)) / median(xs);
}

/** The `q` quantile (0..1) of sorted `sorted` (nearest rank). */
export function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/**
 * Runs `calls` calls of `fn(i)` with `inFlight` of them outstanding at a time (a closed
 * loop), and measures wall time, this process's CPU and each call's latency.
 */
export async function load(calls, inFlight, fn) {
  const latencies = new Float64Array(calls);
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (next < calls) {
      const i = next++;
      const s = performance.now();
      await fn(i);
      latencies[i] = performance.now() - s;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, calls) }, worker));
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  latencies.sort();
  return {
    opsPerSec: calls / (wallMs / 1000),
    clientCpuUsPerOp: (cpu.user + cpu.system) / calls,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
  };
}

/**
 * Measures each variant `rounds` times, alternating their order round by round (A B, B A,
 * ...), after one warm-up each, and returns per variant the median and spread of every
 * number its `measure()` returns. A variant with `server` also gets the server process's CPU
 * per op (`serverCpuUsPerOp`), read over IPC around each measurement.
 */
export async function alternate(variants, rounds, ops) {
  for (const v of variants) await v.measure(true);
  const samples = variants.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const order = variants.map((_, i) => i);
    if (r % 2) order.reverse();
    for (const i of order) {
      const v = variants[i];
      const before = v.server ? (await v.server.ask("cpu")).cpuUs : 0;
      const m = await v.measure(false);
      if (v.server) m.serverCpuUsPerOp = ((await v.server.ask("cpu")).cpuUs - before) / (m.ops ?? ops);
      samples[i].push(m);
    }
  }
  return variants.map((v, i) => {
    const out = { name: v.name };
    for (const key of Object.keys(samples[i][0])) {
      const xs = samples[i].map((s) => s[key]).filter((x) => typeof x === "number");
      if (xs.length === 0) continue;
      out[key] = median(xs);
      out[`${key}Spread`] = spread(xs);
    }
    return out;
  });
}
