import { execFile, spawnSync } from "node:child_process";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { type BatonServer, startServer } from "@baton/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makePki } from "../../../test/support/tls.js";
import { tempDir } from "./support.js";

const python = "/usr/bin/python3";
const haveGrpc = spawnSync(python, ["-c", "import grpc, grpc_tools"], { stdio: "ignore" }).status === 0;
// CI must never run without the independent client: .ci/run installs it and sets this.
const required = process.env.BATON_REQUIRE_INTEROP === "1";
if (!haveGrpc) {
  const msg =
    "python3-grpcio / python3-grpc-tools are not installed: the Python interop test cannot run. " +
    "Install them with `apt-get install python3-grpcio python3-grpc-tools`.";
  if (required) throw new Error(`${msg} (BATON_REQUIRE_INTEROP=1)`);
  console.warn(`\n*** ${msg} Skipping it. ***\n`);
}

describe.skipIf(!haveGrpc)("interop: the seed's Python quickstart (grpcio) against baton-server", () => {
  let server: BatonServer;
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    tmp = tempDir();
    const pki = makePki(tmp.dir);
    server = await startServer({
      listen: ["127.0.0.1:0"],
      token: "py-token",
      tls: { cert: pki.serverCert, key: pki.serverKey },
    });
    // Generate Python stubs from our own proto, as the seed's quickstart does.
    const root = join(import.meta.dirname, "../../..");
    const gen = spawnSync(
      python,
      [
        "-m",
        "grpc_tools.protoc",
        "-I",
        join(root, "proto/orca/orca/v1"),
        `--python_out=${tmp.dir}`,
        `--grpc_python_out=${tmp.dir}`,
        "orca_v1.proto",
      ],
      { encoding: "utf8" },
    );
    expect(gen.status, gen.stderr).toBe(0);
    copyFileSync(join(import.meta.dirname, "interop/quickstart.py"), join(tmp.dir, "quickstart.py"));
  });
  afterAll(async () => {
    await server?.close();
    tmp?.cleanup();
  });

  it("runs over TLS with a bearer token", async () => {
    const port = (server.addresses[0] as string).split(":").at(-1);
    // Asynchronously: the server runs in this process and must keep serving.
    const r = await promisify(execFile)(python, ["quickstart.py"], {
      cwd: tmp.dir,
      encoding: "utf8",
      timeout: 30_000,
      env: {
        ...process.env,
        ORCA_ADDRESS: `localhost:${port}`,
        ORCA_TOKEN: "py-token",
        ORCA_CA: join(tmp.dir, "ca.pem"),
      },
    });
    expect(r.stdout).toContain("Budget exceeded: budget exceeded: max_tokens");
    expect(r.stdout).toContain("interop ok");
  });
});
