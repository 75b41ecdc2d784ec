// Agent connection tests dial the agent's endpoint for real: here, loopback listeners the
// test opens and closes, which this server's operator allows (portarium.connectionTestAllow
// 127.0.0.1). What the default policy refuses is in portarium-connection-tests.test.ts.
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PortariumHarness, type Schemas, startPortarium } from "./portarium-support.js";

let t: PortariumHarness;
let listener: Server;
let port: number;
const accepted: string[] = [];
beforeAll(async () => {
  t = await startPortarium({ settings: { "portarium.connectionTestAllow": "127.0.0.1" } });
  listener = createServer((socket) => {
    accepted.push(socket.remoteAddress ?? "?");
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  port = (listener.address() as { port: number }).port;
});
afterAll(() => t.close());

const registerAgent = async (name: string, endpoint: string) =>
  (await t.call<Schemas["AgentV1"]>("POST", "/v1/workspaces/ws-a/agents", { name, endpoint })).body;
const test = async (agentId: string) =>
  (await t.call<Schemas["ConnectionTestResult"]>("POST", `/v1/workspaces/ws-a/agents/${agentId}/test`)).body;

describe("agent connection tests", () => {
  it("connect to a listening endpoint (ok), and find it unreachable once it stops listening", async () => {
    const agent = await registerAgent("local", `http://127.0.0.1:${port}/agent`);
    const live = await test(agent.agentId);
    expect(live.status === "ok" || live.status === "slow").toBe(true);
    expect(live.errorMessage).toBeUndefined();
    expect(accepted).toHaveLength(1);
    await new Promise<void>((resolve) => listener.close(() => resolve()));
    const dead = await test(agent.agentId);
    expect(dead.status).toBe("unreachable");
    expect(dead.errorMessage).toMatch(/ECONNREFUSED/);
    expect(accepted).toHaveLength(1);
  });

  it("follow an updated endpoint", async () => {
    const other = createServer((s) => s.destroy());
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    try {
      const agent = await registerAgent("moving", `http://127.0.0.1:${port}/closed`);
      expect((await test(agent.agentId)).status).toBe("unreachable");
      const moved = `http://localhost:${(other.address() as { port: number }).port}/agent`;
      expect((await t.call("PATCH", `/v1/workspaces/ws-a/agents/${agent.agentId}`, { endpoint: moved })).status).toBe(
        200,
      );
      expect((await test(agent.agentId)).errorMessage).toBeUndefined();
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
    }
  });
});
