// Machine status is what the machine's heartbeats say, on the server's clock: registration
// and every invocation progress event count; silence makes it Degraded, then Offline.
// The test moves a manual clock instead of waiting.
import { ManualClock } from "@baton/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invocation, type PortariumHarness, type Schemas, startPortarium } from "./portarium-support.js";

const WINDOW = 60_000;
let clock: ManualClock;
let t: PortariumHarness;
beforeAll(async () => {
  clock = new ManualClock();
  t = await startPortarium({
    clock,
    settings: { "portarium.machineHeartbeatTimeoutMs": String(WINDOW), "portarium.invocationDurationMs": "40000" },
  });
});
afterAll(() => t.close());

const register = async (hostname: string) =>
  (await t.call<Schemas["MachineV1"]>("POST", "/v1/workspaces/ws-a/machines", { hostname })).body;
const machine = async (id: string) =>
  (await t.call<Schemas["MachineV1"]>("GET", `/v1/workspaces/ws-a/machines/${id}`)).body;
const test = async (id: string) =>
  (await t.call<Schemas["ConnectionTestResult"]>("POST", `/v1/workspaces/ws-a/machines/${id}/test`)).body;

describe("machine liveness", () => {
  it("is Online after registering, Degraded after a window of silence, Offline after two; tests say so", async () => {
    const m = await register("idle-01");
    expect(m).toMatchObject({ status: "Online", activeRunCount: 0, lastHeartbeatAtIso: m.registeredAtIso });
    expect(await test(m.machineId)).toEqual({ status: "ok", latencyMs: 0 });

    clock.advance(WINDOW);
    expect((await machine(m.machineId)).status).toBe("Online");
    expect(await test(m.machineId)).toEqual({ status: "ok", latencyMs: WINDOW });

    clock.advance(1);
    expect((await machine(m.machineId)).status).toBe("Degraded");
    expect(await test(m.machineId)).toEqual({
      status: "slow",
      latencyMs: WINDOW + 1,
      errorMessage: `machine idle-01 last reported ${WINDOW + 1} ms ago; it is expected every ${WINDOW} ms`,
    });

    clock.advance(WINDOW);
    expect((await machine(m.machineId)).status).toBe("Offline");
    expect(await test(m.machineId)).toEqual({
      status: "unreachable",
      latencyMs: 2 * WINDOW + 1,
      errorMessage: `machine idle-01 has not reported since ${m.registeredAtIso}: register it again`,
    });
    // A test reads the heartbeats; it is not one.
    expect((await machine(m.machineId)).lastHeartbeatAtIso).toBe(m.registeredAtIso);
    const list = await t.call<Schemas["MachineListResponse"]>("GET", "/v1/workspaces/ws-a/machines");
    expect(list.body.items.find((x) => x.machineId === m.machineId)?.status).toBe("Offline");

    // An offline machine takes no invocations; registered again, it is back.
    const refused = await t.call(
      "POST",
      `/v1/workspaces/ws-a/machines/${m.machineId}/invocations`,
      invocation(m.machineId, "inv-off", "compile"),
    );
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/is Offline: it has not reported since/);
    const again = await register("idle-01");
    expect(again.status).toBe("Online");

    const evidence = await t.call<Schemas["EvidenceEntryListResponse"]>(
      "GET",
      "/v1/workspaces/ws-a/evidence?category=System",
    );
    const tests = evidence.body.items.filter((e) => e.correlationId === m.machineId).map((e) => e.summary);
    expect(tests).toEqual([
      "machine idle-01 registered",
      "machine idle-01 connection test: ok",
      "machine idle-01 connection test: ok",
      "machine idle-01 connection test: slow",
      "machine idle-01 connection test: unreachable",
    ]);
  });

  it("a machine running invocations is Online and counts them; their progress events are its heartbeats", async () => {
    const m = await register("busy-01");
    clock.advance(WINDOW - 1000);
    const started = await t.call<Schemas["MachineInvocationResponseV1"]>(
      "POST",
      `/v1/workspaces/ws-a/machines/${m.machineId}/invocations`,
      invocation(m.machineId, "inv-busy-1", "render"),
    );
    expect(started.status).toBe(202);
    await t.call(
      "POST",
      `/v1/workspaces/ws-a/machines/${m.machineId}/invocations`,
      invocation(m.machineId, "inv-busy-2", "render"),
    );
    const busy = await machine(m.machineId);
    expect(busy).toMatchObject({ status: "Online", activeRunCount: 2 });
    // Accepting them was a report.
    expect(Date.parse(busy.lastHeartbeatAtIso ?? "")).toBe(clock.now());
    // The invocations take 40 s: far past the window, the running machine is still Online.
    clock.advance(WINDOW / 2);
    expect(await test(m.machineId)).toEqual({ status: "ok", latencyMs: 0 });
    clock.advance(WINDOW / 2);
    const done = await machine(m.machineId);
    expect(done.activeRunCount).toBe(0);
    // Its last report was the completion, at 40 s after the start.
    expect(Date.parse(done.lastHeartbeatAtIso ?? "")).toBe(Date.parse(busy.lastHeartbeatAtIso ?? "") + 40_000);
    expect(done.status).toBe("Online");
    // A window after that report it is still Online; a moment later, Degraded.
    clock.advance(WINDOW - 20_000);
    expect((await machine(m.machineId)).status).toBe("Online");
    clock.advance(1);
    expect((await machine(m.machineId)).status).toBe("Degraded");
  });

  it("deregistered machines are gone: 404 for get and test, their running invocations failed", async () => {
    const m = await register("gone-01");
    await t.call(
      "POST",
      `/v1/workspaces/ws-a/machines/${m.machineId}/invocations`,
      invocation(m.machineId, "inv-gone", "sync"),
    );
    expect((await t.call("DELETE", `/v1/workspaces/ws-a/machines/${m.machineId}`)).status).toBe(204);
    expect((await t.call("GET", `/v1/workspaces/ws-a/machines/${m.machineId}`)).status).toBe(404);
    expect((await t.call("POST", `/v1/workspaces/ws-a/machines/${m.machineId}/test`)).status).toBe(404);
    const inv = await t.call<Schemas["MachineInvocationResponseV1"]>(
      "GET",
      `/v1/workspaces/ws-a/machines/${m.machineId}/invocations/inv-gone`,
    );
    expect(inv.body).toMatchObject({ status: "failed", error: "machine gone-01 was deregistered" });
  });
});
