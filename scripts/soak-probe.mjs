// Loaded into the baton-server child by `pnpm soak` (node --import): every second it sends
// the parent, over the IPC channel, the process's RSS and heap and the event loop's delay
// (perf_hooks.monitorEventLoopDelay: p50, p99, max in ms since the last report). It changes
// nothing in the server; without an IPC channel it does nothing.
import { monitorEventLoopDelay } from "node:perf_hooks";

if (typeof process.send === "function") {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  const timer = setInterval(() => {
    const { rss, heapUsed } = process.memoryUsage();
    process.send?.({
      kind: "probe",
      rss,
      heapUsed,
      loopDelayMs: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) },
    });
    delay.reset();
  }, 1000);
  timer.unref();
  process.channel?.unref();
}
