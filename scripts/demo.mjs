// `npm run demo`: the ORCA quickstart against an embedded baton-server it starts itself.
import { bin, run } from "./exec.mjs";

const root = new URL("..", import.meta.url).pathname;
const env = { ...process.env };
delete env.ORCA_ADDR; // always the embedded server: the demo needs nothing else running
run(bin("tsx"), ["main.ts"], { cwd: `${root}examples/orca-quickstart`, env });
