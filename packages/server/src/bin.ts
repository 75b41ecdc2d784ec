#!/usr/bin/env node
import { main } from "./cli.js";

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`baton-server: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
