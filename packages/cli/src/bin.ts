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
// A reader that goes away (`baton orca events --follow | head -1`) ends the command quietly,
// as with any Unix filter, instead of crashing on EPIPE.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
  process.exit(0);
});
const code = await main(
  process.argv.slice(2),
  { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env },
  controller.signal,
);
process.exitCode = code;
