// Agent connection tests dial only what the operator allows (issue #13 item 10): by default
// (`portarium.connectionTestAllow=public`) loopback, private, link-local and reserved
// addresses are refused with 403 problem+json before any connection is opened, host names
// included (they are resolved and the address is checked, then dialled as resolved).
import { createServer, type Server } from "node:net";
import { ConnectionTestPolicy, HttpProblem, isPublicAddress, probeEndpoint } from "@baton/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PortariumHarness, type Schemas, startPortarium } from "./portarium-support.js";

let listener: Server;
let port: number;
let accepted = 0;
beforeAll(async () => {
  listener = createServer((socket) => {
    accepted++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  port = (listener.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => listener.close(() => resolve())));

async function testAgent(t: PortariumHarness, endpoint: string) {
  const agent = await t.call<Schemas["AgentV1"]>("POST", "/v1/workspaces/ws-a/agents", { name: "a", endpoint });
  expect(agent.status).toBe(201);
  // A ConnectionTestResult (200) or a ProblemDetails (403).
  const r = await t.call<{ status: string; type?: string; detail?: string; errorMessage?: string }>(
    "POST",
    `/v1/workspaces/ws-a/agents/${agent.body.agentId}/test`,
  );
  return { ...r, agentId: agent.body.agentId };
}

describe("the default policy (public addresses only)", () => {
  let t: PortariumHarness;
  beforeAll(async () => {
    t = await startPortarium();
  });
  afterAll(() => t.close());

  it("refuses loopback, private, link-local and reserved endpoints with 403, dialling nothing", async () => {
    const before = accepted;
    for (const endpoint of [
      `http://127.0.0.1:${port}/agent`,
      `http://localhost:${port}/agent`, // a name that resolves to loopback: no DNS bypass
      `http://2130706433:${port}/`, // 127.0.0.1 spelt as a number
      `http://[::ffff:127.0.0.1]:${port}/`,
      `http://[::1]:${port}/`,
      `http://0.0.0.0:${port}/`,
      "http://10.1.2.3:8080/",
      "http://192.168.0.1/",
      "http://172.20.0.1/",
      "http://169.254.169.254/latest/meta-data/",
      "http://[fd00::1]/",
      "http://[fe80::1]/",
      "http://100.64.0.1/",
    ]) {
      const r = await testAgent(t, endpoint);
      expect(r.status, endpoint).toBe(403);
      expect(r.headers.get("content-type")).toBe("application/problem+json");
      expect(r.body.type).toBe("urn:baton:portarium:problem:connection-test-not-allowed");
      expect(r.body.detail, endpoint).toContain("was not dialled");
      expect(r.body.detail).toContain("loopback, private, link-local or reserved");
      expect(r.body.detail).toContain("portarium.connectionTestAllow (public)");
    }
    expect(accepted).toBe(before);
  });

  it("says why in the evidence log too", async () => {
    const r = await testAgent(t, `http://localhost:${port}/`);
    expect(r.body.detail).toContain(`localhost (127.0.0.1)`);
    const evidence = await t.call<Schemas["EvidenceEntryListResponse"]>(
      "GET",
      "/v1/workspaces/ws-a/evidence?limit=200",
    );
    expect(evidence.body.items.filter((e) => e.correlationId === r.agentId).map((e) => e.summary)).toEqual([
      "agent a registered",
      `agent a connection test refused: ${r.body.detail}`,
    ]);
  });
});

describe("an operator's allowlist", () => {
  let t: PortariumHarness;
  beforeAll(async () => {
    t = await startPortarium({ settings: { "portarium.connectionTestAllow": `10.0.0.0/8, 127.0.0.1:${port}` } });
  });
  afterAll(() => t.close());

  it("dials a listed address and port, and only that port", async () => {
    const before = accepted;
    const ok = await testAgent(t, `http://127.0.0.1:${port}/agent`);
    expect(ok.status).toBe(200);
    expect(["ok", "slow"]).toContain(ok.body.status);
    expect(accepted).toBe(before + 1);
    // The same host on another port is not listed.
    const other = await testAgent(t, `http://127.0.0.1:${port === 65535 ? port - 1 : port + 1}/`);
    expect(other.status).toBe(403);
    expect(other.body.detail).toContain(`portarium.connectionTestAllow (10.0.0.0/8, 127.0.0.1:${port})`);
    expect((await testAgent(t, "http://192.168.1.1/")).status).toBe(403);
    expect(accepted).toBe(before + 1);
  });
});

describe("ConnectionTestPolicy and probeEndpoint", () => {
  it("tell public addresses from the rest", () => {
    for (const a of ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "1.1.1.1"])
      expect(isPublicAddress(a), a).toBe(true);
    for (const a of [
      "127.0.0.1",
      "127.8.9.10",
      "10.0.0.1",
      "172.31.255.255",
      "192.168.1.1",
      "169.254.1.1",
      "100.100.0.1",
      "0.0.0.0",
      "255.255.255.255",
      "224.0.0.1",
      "::1",
      "::",
      "::ffff:10.0.0.1",
      "fd12::1",
      "fe80::1",
      "64:ff9b::a00:1",
      "not an address",
    ]) {
      expect(isPublicAddress(a), a).toBe(false);
    }
  });

  it("check every address a name resolves to, and dial the allowed one as resolved", async () => {
    const before = accepted;
    const lookups: string[] = [];
    const resolve = async (name: string) => {
      lookups.push(name);
      return name === "rebind.test" ? ["10.9.9.9"] : ["203.0.113.7", "127.0.0.1"];
    };
    const publicOnly = ConnectionTestPolicy.parse("public");
    await expect(probeEndpoint(`http://rebind.test:${port}/`, publicOnly, resolve)).rejects.toBeInstanceOf(HttpProblem);
    await expect(probeEndpoint(`http://rebind.test:${port}/`, publicOnly, resolve)).rejects.toMatchObject({
      status: 403,
      message: expect.stringContaining("rebind.test (10.9.9.9) is a loopback, private, link-local or reserved address"),
    });
    // Of two addresses, the one the list allows is dialled: the address itself, with no second lookup.
    const loopback = ConnectionTestPolicy.parse("127.0.0.0/8");
    const r = await probeEndpoint(`http://mixed.test:${port}/`, loopback, resolve);
    expect(["ok", "slow"]).toContain(r.status);
    expect(accepted).toBe(before + 1);
    expect(lookups).toEqual(["rebind.test", "rebind.test", "mixed.test"]);
  });

  it("a listed host name is allowed by name; a name that does not resolve is unreachable", async () => {
    const before = accepted;
    const resolve = async () => ["127.0.0.1"];
    const byName = ConnectionTestPolicy.parse(`agents.internal:${port}`);
    expect((await probeEndpoint(`http://AGENTS.internal:${port}/`, byName, resolve)).errorMessage).toBeUndefined();
    await expect(probeEndpoint(`http://agents.internal:${port + 1}/`, byName, resolve)).rejects.toMatchObject({
      status: 403,
    });
    await expect(probeEndpoint(`http://other.internal:${port}/`, byName, resolve)).rejects.toMatchObject({
      status: 403,
    });
    expect(accepted).toBe(before + 1);
    const failing = async () => {
      throw Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" });
    };
    expect(await probeEndpoint("http://nowhere.test/", ConnectionTestPolicy.parse("public"), failing)).toMatchObject({
      status: "unreachable",
      errorMessage: "nowhere.test does not resolve: ENOTFOUND",
    });
    expect(ConnectionTestPolicy.parse("").allows("x", "8.8.8.8", 80)).toBe(false);
  });

  it("parse addresses, ranges, ports and names, and refuse anything else", () => {
    const p = ConnectionTestPolicy.parse("::1, [fd00::/8]:443, 192.168.1.5:8080, agents.internal");
    expect(p.allows("h", "::1", 1)).toBe(true);
    expect(p.allows("h", "fd00::5", 443)).toBe(true);
    expect(p.allows("h", "fd00::5", 80)).toBe(false);
    expect(p.allows("h", "192.168.1.5", 8080)).toBe(true);
    expect(p.allows("h", "192.168.1.6", 8080)).toBe(false);
    expect(p.allows("agents.internal", "10.0.0.1", 1234)).toBe(true);
    expect(p.allows("h", "8.8.8.8", 80)).toBe(false);
    for (const bad of ["10.0.0.0/33", "1.2.3.4:0", "1.2.3.4:http", "[::1", "300.0.0.1", "a_b", "[zz::1]"]) {
      expect(() => ConnectionTestPolicy.parse(bad), bad).toThrow();
    }
  });
});
