// The bench's rows: each a Baton number next to its peer's, measured in the same run, with
// the ratio and the issue's target. Printed as a Markdown table and written as JSON.
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname } from "node:path";

/** Collected rows. */
export const rows = [];

/**
 * Adds a row. `better` says which way is good: "higher" (throughput; ratio = baton / peer)
 * or "lower" (cost, latency; ratio = baton / peer too, so below 1 is better). `target`, when
 * the issue sets one, is the ratio to reach (at least, for "higher"; at most, for "lower").
 */
export function addRow({ section, name, unit, better, baton, peer, peerName, target, spread }) {
  const ratio = baton / peer;
  const met = target === undefined ? undefined : better === "higher" ? ratio >= target - 1e-9 : ratio <= target + 1e-9;
  rows.push({ section, name, unit, better, baton, peer, peerName, ratio, target, met, spread });
}

function fmt(x) {
  if (!Number.isFinite(x)) return "-";
  if (x >= 1000) return Math.round(x).toLocaleString("en-US");
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

/** The rows as a Markdown table. */
export function markdown() {
  const lines = [
    "| benchmark | unit | Baton | peer | peer value | ratio | target | spread |",
    "| --- | --- | ---: | --- | ---: | ---: | --- | ---: |",
  ];
  let section;
  for (const r of rows) {
    if (r.section !== section) {
      section = r.section;
      lines.push(`| **${section}** | | | | | | | |`);
    }
    const target =
      r.target === undefined
        ? ""
        : `${r.better === "higher" ? "≥" : "≤"} ${r.target.toFixed(1)}x ${r.met ? "✓" : "✗ short"}`;
    const arrow = r.better === "higher" ? "↑" : "↓";
    lines.push(
      `| ${r.name} | ${r.unit} ${arrow} | ${fmt(r.baton)} | ${r.peerName} | ${fmt(r.peer)} | ${r.ratio.toFixed(2)}x | ${target} | ${r.spread === undefined ? "" : `±${(r.spread * 50).toFixed(0)}%`} |`,
    );
  }
  return lines.join("\n");
}

/** What the numbers were measured on. */
export function machine(pinned) {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? "unknown",
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    pinned: pinned ? "server on core 0, client on core 1 (taskset)" : "not pinned",
  };
}

/** Writes the rows and the machine as JSON to `path`. */
export function writeJson(path, meta) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ ...meta, rows }, null, 2)}\n`);
}
