import { execFile, spawnSync } from "node:child_process";
import { copyFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { BatonServer } from "@baton/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevice, tempDir } from "./support.js";

const python = "/usr/bin/python3";
const haveGrpc = spawnSync(python, ["-c", "import grpc, grpc_tools"], { stdio: "ignore" }).status === 0;
// CI must never run without the independent client: .ci/run installs it and sets this.
const required = process.env.BATON_REQUIRE_INTEROP === "1";
if (!haveGrpc) {
  const msg =
    "python3-grpcio / python3-grpc-tools are not installed: the edgemesh Python interop test cannot run. " +
    "Install them with `apt-get install python3-grpcio python3-grpc-tools`.";
  if (required) throw new Error(`${msg} (BATON_REQUIRE_INTEROP=1)`);
  console.warn(`\n*** ${msg} Skipping it. ***\n`);
}

describe.skipIf(!haveGrpc)("interop: the edgemesh seed's example (grpcio) against a two-node baton-server mesh", () => {
  let coordinator: BatonServer;
  let worker: BatonServer;
  const tmp = tempDir();
  const workerRoot = tempDir();
  beforeAll(async () => {
    coordinator = await startDevice({ "edgemesh.securityKey": "py-key", "edgemesh.deviceName": "coordinator" });
    worker = await startDevice({
      "edgemesh.securityKey": "py-key",
      "edgemesh.deviceName": "worker",
      "edgemesh.fileRoot": workerRoot.dir,
      "edgemesh.join": coordinator.addresses[0] as string,
    });
    // Stubs from our own proto, as a user of the real system would build them.
    const root = join(import.meta.dirname, "../../..");
    const gen = spawnSync(
      python,
      [
        "-m",
        "grpc_tools.protoc",
        "-I",
        join(root, "proto/edgemesh/edgemesh"),
        `--python_out=${tmp.dir}`,
        `--grpc_python_out=${tmp.dir}`,
        "orchestrator.proto",
      ],
      { encoding: "utf8" },
    );
    expect(gen.status, gen.stderr).toBe(0);
    copyFileSync(join(import.meta.dirname, "interop/seed_example.py"), join(tmp.dir, "seed_example.py"));
  });
  afterAll(async () => {
    await worker?.close();
    await coordinator?.close();
    tmp.cleanup();
    workerRoot.cleanup();
  });

  it("makes a session with the key and runs pwd PREFER_REMOTE on the other server", async () => {
    // Asynchronously: the servers run in this process and must keep serving.
    const r = await promisify(execFile)(python, ["seed_example.py"], {
      cwd: tmp.dir,
      encoding: "utf8",
      timeout: 30_000,
      env: { ...process.env, EDGEMESH_ADDRESS: coordinator.addresses[0] as string, EDGEMESH_KEY: "py-key" },
    });
    expect(r.stdout).toContain(`pwd on worker locally False : ${realpathSync(workerRoot.dir)}`);
    expect(r.stdout).toContain("wrong key: UNAUTHENTICATED");
    expect(r.stdout).toContain("interop ok");
  });
});
