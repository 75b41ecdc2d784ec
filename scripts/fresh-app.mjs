// The fresh-app test: what a new user gets from npm. Packs every published package
// (scripts/pack.mjs), installs the tarballs with npm into a temp app (third-party
// dependencies come from the npm registry), type-checks a strict TypeScript program that
// imports every client (moduleResolution nodenext, no skipLibCheck) together with the
// example of every package README, with the repo's TypeScript and with the oldest one we
// support (MIN_TYPESCRIPT, stated in README.md), then starts the baton-server the app
// installed and runs one real call through each client against it, and one through the
// `baton` command line the app installed. FRESH_APP_KEEP=1 keeps
// the temp app (its path is printed) to try other TypeScript versions in it.
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run as runOrExit } from "./exec.mjs";
import { packAll } from "./pack.mjs";

/** The oldest TypeScript that compiles the packages' types without skipLibCheck (README.md). */
export const MIN_TYPESCRIPT = "5.7.3";

const root = new URL("..", import.meta.url).pathname;
const rootPkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const tmp = mkdtempSync(join(tmpdir(), "baton-fresh-app-"));
const app = join(tmp, "app");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const npx = process.platform === "win32" ? "npx.cmd" : "npx";
let server;

/** Runs a command; throws (so the server is stopped and the temp dir removed) when it fails. */
function run(cmd, args, opts) {
  const status = runOrExit(cmd, args, { ...opts, allowFailure: true });
  if (status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${status}`);
}

try {
  mkdirSync(join(tmp, "tarballs"));
  const packed = packAll(join(tmp, "tarballs"));
  mkdirSync(join(app, "src", "readme"), { recursive: true });
  const dependencies = Object.fromEntries(packed.map((p) => [p.pkg.name, `file:${p.tarball}`]));
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify(
      {
        name: "baton-fresh-app",
        private: true,
        type: "module",
        dependencies,
        devDependencies: {
          typescript: rootPkg.devDependencies.typescript,
          "@types/node": rootPkg.devDependencies["@types/node"],
        },
      },
      null,
      2,
    ),
  );
  writeFileSync(
    join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "nodenext",
        moduleResolution: "nodenext",
        strict: true,
        skipLibCheck: false,
        types: ["node"],
        rootDir: "src",
        outDir: "dist",
      },
      include: ["src"],
    }),
  );
  copyFileSync(join(root, "scripts/fresh-app/app.ts"), join(app, "src/app.ts"));
  // Every README example must compile against what npm installed.
  for (const p of packed) {
    const readme = readFileSync(join(p.dir, "README.md"), "utf8");
    const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
    for (const [i, code] of blocks.entries()) {
      writeFileSync(join(app, "src/readme", `${p.name}-${i}.ts`), `${code}export {};\n`);
    }
  }

  console.log(`--- npm install of ${packed.length} tarballs into ${app}`);
  run(npm, ["install", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: app });

  console.log(`--- tsc (${rootPkg.devDependencies.typescript}): strict, nodenext, no skipLibCheck`);
  run(join(app, "node_modules/.bin/tsc"), ["-p", "."], { cwd: app });
  console.log(`--- tsc ${MIN_TYPESCRIPT} (the oldest supported)`);
  run(npx, ["--yes", "--package", `typescript@${MIN_TYPESCRIPT}`, "--", "tsc", "-p", ".", "--noEmit"], { cwd: app });

  console.log("--- baton-server from the installed tarball, and one call per client");
  const bin = join(app, "node_modules/.bin/baton-server");
  if (!existsSync(bin)) throw new Error("the installed @baton/server has no baton-server bin");
  server = spawn(bin, ["--listen", "127.0.0.1:0", "--service-account", "fresh:fresh-secret:ws-fresh"], {
    cwd: app,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const address = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`baton-server printed no address in 30 s: ${out}`)), 30_000);
    server.stdout.on("data", (chunk) => {
      out += chunk;
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    server.on("exit", (code) => reject(new Error(`baton-server exited (${code}): ${out}`)));
  });
  run(process.execPath, ["dist/app.js"], { cwd: app, env: { ...process.env, BATON_ADDR: address } });

  console.log("--- the installed baton command line: orca start, then events");
  const baton = join(app, "node_modules/.bin/baton");
  if (!existsSync(baton)) throw new Error("the installed @baton/cli has no baton bin");
  const cli = (args) => {
    const r = spawnSync(baton, [...args, "--address", address], { cwd: app, encoding: "utf8", timeout: 30_000 });
    if (r.status !== 0) throw new Error(`baton ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  const started = JSON.parse(cli(["orca", "start", "fresh-cli", "--max-tokens", "100"]));
  if (started.runId !== "fresh-cli") throw new Error(`baton orca start answered ${JSON.stringify(started)}`);
  const events = cli(["orca", "events", "fresh-cli"])
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  if (!events.some((e) => e.kind === "start_run"))
    throw new Error(`baton orca events has no start_run event: ${JSON.stringify(events)}`);
} catch (err) {
  console.error(`fresh-app: ${err.message}`);
  process.exitCode = 1;
} finally {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once("exit", resolve));
    server.kill("SIGTERM");
    await exited;
  }
  if (process.env.FRESH_APP_KEEP) console.log(`kept ${tmp}`);
  else rmSync(tmp, { recursive: true, force: true });
}
