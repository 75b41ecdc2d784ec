// edgemesh's jobs, sessions and devices are bounded: finished jobs and stale devices are
// forgotten oldest first past their setting, and a full map refuses with RESOURCE_EXHAUSTED.
// Counts of retained entries, over a real socket, time on a manual clock.
import { ManualClock } from "@baton/server";
import { OrchestratorService } from "@baton/wire/edgemesh";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { type RpcHarness, startRpc } from "./rpc-support.js";

let h: RpcHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(settings: Record<string, string>) {
  const clock = new ManualClock();
  h = await startRpc({ "edgemesh.deviceId": "self", ...settings }, clock);
  return { clock, mesh: createClient(OrchestratorService, h.connection.transport) };
}
const code = (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e).code,
  );

describe("edgemesh retention", () => {
  it("keeps edgemesh.maxSessions unexpired sessions; one expiring makes room", async () => {
    const { clock, mesh } = await start({ "edgemesh.maxSessions": "2", "edgemesh.sessionTtlMs": "1000" });
    const auth = { deviceName: "d", securityKey: "dev-key" };
    await mesh.createSession(auth);
    clock.advance(500);
    await mesh.createSession(auth);
    expect(await code(mesh.createSession(auth))).toBe(Code.ResourceExhausted);
    clock.advance(500);
    await expect(mesh.createSession(auth)).resolves.toMatchObject({ sessionId: expect.any(String) });
    expect(await code(mesh.createSession(auth))).toBe(Code.ResourceExhausted);
  });

  it("keeps edgemesh.maxDevices devices: a stale one makes room for a new one, a live set refuses", async () => {
    const { clock, mesh } = await start({ "edgemesh.maxDevices": "2", "edgemesh.staleAfterMs": "1000" });
    const device = (deviceId: string) => ({ deviceId, deviceName: deviceId, grpcAddr: "127.0.0.1:1" });
    await mesh.registerDevice(device("d1"));
    expect(await code(mesh.registerDevice(device("d2")))).toBe(Code.ResourceExhausted);
    // Re-registering a known device is never refused.
    await mesh.registerDevice(device("d1"));
    clock.advance(1001);
    await mesh.registerDevice(device("d2"));
    expect((await mesh.listDevices({})).devices.map((d) => d.deviceId).sort()).toEqual(["d2", "self"]);
  });

  it("keeps edgemesh.maxJobs jobs, forgetting the oldest finished", async () => {
    const { mesh } = await start({ "edgemesh.maxJobs": "2" });
    const { sessionId } = await mesh.createSession({ deviceName: "d", securityKey: "dev-key" });
    const finished = async (jobId: string) => {
      for (let i = 0; i < 200; i++) {
        const { state } = await mesh.getJob({ jobId });
        if (state === "DONE" || state === "FAILED") return state;
        await new Promise((r) => setImmediate(r));
      }
      throw new Error(`job ${jobId} did not finish`);
    };
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { jobId } = await mesh.submitJob({ sessionId, text: `job ${i}` });
      ids.push(jobId);
      await finished(jobId);
    }
    expect(await code(mesh.getJob({ jobId: ids[0] as string }))).toBe(Code.NotFound);
    expect(await code(mesh.getJob({ jobId: ids[1] as string }))).toBe(Code.NotFound);
    await expect(finished(ids[3] as string)).resolves.toBeDefined();
    await expect(finished(ids[2] as string)).resolves.toBeDefined();
  });
});
