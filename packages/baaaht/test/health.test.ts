import type { ServingStatus } from "@baton/baaaht";
import { grpcHealth } from "@baton/baaaht/wire";
import { NotFoundError } from "@baton/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, rejectsWith, startHarness, take, until } from "./helpers.js";
import { dropStreamOnce } from "./interceptors.js";
import { baaahtModule } from "./server-shim.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("grpc.health.v1", () => {
  it("checks the server and each service (full and seed short names)", async () => {
    expect(await h.unix.health.check()).toBe("SERVING");
    expect(await h.tcp.health.check("orchestrator.v1.OrchestratorService")).toBe("SERVING");
    expect(await h.unix.health.check("agent.v1.AgentService")).toBe("SERVING");
    expect(await h.unix.health.check("gateway.v1.GatewayService")).toBe("SERVING");
    expect(await h.unix.health.check("orchestrator")).toBe("SERVING");
    await rejectsWith(h.unix.health.check("no.such.Service"), NotFoundError);
  });

  it("Watch sees a status change", async () => {
    const svc = "gateway.v1.GatewayService";
    const seen: ServingStatus[] = [];
    const watch = h.unix.health.watch(svc)[Symbol.asyncIterator]();
    // The first answer is the current status: once it is here, the watch is in place.
    const first = await watch.next();
    if (!first.done) seen.push(first.value);
    const rest = take({ [Symbol.asyncIterator]: () => watch }, 2);
    const m = baaahtModule(h.server);
    m.setServingStatus(svc, grpcHealth.HealthCheckResponse_ServingStatus.NOT_SERVING);
    expect(await h.tcp.health.check(svc)).toBe("NOT_SERVING");
    m.setServingStatus(svc, grpcHealth.HealthCheckResponse_ServingStatus.SERVING);
    seen.push(...(await rest));
    expect(seen).toEqual(["SERVING", "NOT_SERVING", "SERVING"]);
  });

  it("Watch of an unknown service says SERVICE_UNKNOWN, then sees it appear", async () => {
    const watch = h.unix.health.watch("later.v1.Service")[Symbol.asyncIterator]();
    expect((await watch.next()).value).toBe("SERVICE_UNKNOWN");
    const rest = take({ [Symbol.asyncIterator]: () => watch }, 1);
    baaahtModule(h.server).setServingStatus("later.v1.Service", grpcHealth.HealthCheckResponse_ServingStatus.SERVING);
    expect(await rest).toEqual(["SERVING"]);
  });

  it("Watch resumes after a dropped connection and does not repeat the status it already gave", async () => {
    const svc = "agent.v1.AgentService";
    const drop = dropStreamOnce("Watch", 1, { eager: true });
    const c = h.client("unix", { interceptors: [drop.interceptor] });
    const watch = c.health.watch(svc)[Symbol.asyncIterator]();
    expect((await watch.next()).value).toBe("SERVING");
    const rest = take({ [Symbol.asyncIterator]: () => watch }, 1);
    // The drop, then the reopened watch's first answer (SERVING again, not passed on).
    await until(() => drop.drops() === 1 && drop.received() === 2);
    const m = baaahtModule(h.server);
    m.setServingStatus(svc, grpcHealth.HealthCheckResponse_ServingStatus.NOT_SERVING);
    expect(await rest).toEqual(["NOT_SERVING"]);
    m.setServingStatus(svc, grpcHealth.HealthCheckResponse_ServingStatus.SERVING);
  });

  it("the orchestrator, agent and gateway HealthCheck/GetStatus rpcs answer", async () => {
    expect((await h.unix.orchestratorHealth()).version).toMatch(/baaaht/);
    expect((await h.unix.status()).startedAt).toBeDefined();
    expect((await h.unix.raw.agent.healthCheck({})).version).toMatch(/baaaht/);
    expect((await h.unix.raw.gateway.getStatus({})).startedAt).toBeDefined();
  });
});
