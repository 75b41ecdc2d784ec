#!/usr/bin/env node
import { main } from "./main.js";

const controller = new AbortController();
let interrupts = 0;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    // The first signal stops streams and waits cleanly; a second one ends the process at once.
    if (++interrupts > 1) process.exit(130);
    controller.abort();
  });
}
const code = await main(
  process.argv.slice(2),
  { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env },
  controller.signal,
);
process.exitCode = code;
