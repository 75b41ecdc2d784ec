import { readFileSync } from "node:fs";

/**
 * The version of `@baton/server`, from its package.json. The file is read relative to this
 * module, which sits at the top of `dist/` both as its own file and inside the bundled
 * `baton-server` bin, so `../package.json` is the package's in either case.
 */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;
