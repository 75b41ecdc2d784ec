// Invocation streams on real sockets: they carry the steps the request asked for, and a
// client whose connection goes (closed by the client, or dropped by the network) stops
// holding a subscription while the invocation runs on.
import { connect, type Socket } from "node:net";
import { ManualClock } from "@baton/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { invocation, type PortariumHarness, type Schemas, startPortarium } from "./portarium-support.js";

let clock: ManualClock;
let t: PortariumHarness;
let machineId: string;
beforeAll(async () => {
  clock = new ManualClock();
  t = await startPortarium({ clock, settings: { "portarium.invocationDurationMs": "1000" } });
  const m = await t.call<Schemas["MachineV1"]>("POST", "/v1/workspaces/ws-a/machines", { hostname: "stream-01" });
  machineId = m.body.machineId;
});
afterAll(() => t.close());

const invocations = () => `/v1/workspaces/ws-a/machines/${machineId}/invocations`;

/** Waits for the server to reach a state it gets to on its own (a socket closing), polling. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(check()).toBe(true);
}

/** Opens an invocation stream on a raw socket and resolves once its first event arrived. */
async function rawStream(invocationId: string): Promise<{ socket: Socket; text: () => string; closed: Promise<void> }> {
  const token = await t.token();
  const [host, port] = (t.server.addresses[0] as string).split(":") as [string, string];
  const socket = connect({ host, port: Number(port) });
  let text = "";
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  socket.write(
    `GET ${invocations()}/${invocationId}/stream HTTP/1.1\r\nHost: ${host}\r\n` +
      `Authorization: Bearer ${token}\r\nAccept: text/event-stream\r\n\r\n`,
  );
  return new Promise((resolve, reject) => {
    socket.on("data", (d) => {
      text += d;
      if (text.includes("id: 1\n")) resolve({ socket, text: () => text, closed });
    });
    socket.once("error", reject);
  });
}

describe("invocation streams", () => {
  it("carry the steps the request asked for, and a failure where it asked for one", async () => {
    const body = invocation(machineId, "inv-steps", "deploy", { steps: ["build", "push"], failAt: "push" });
    expect((await t.call("POST", invocations(), body)).status).toBe(202);
    clock.advance(1000);
    const res = await fetch(`${t.baseUrl}${invocations()}/inv-steps/stream`, {
      headers: { authorization: `Bearer ${await t.token()}` },
    });
    const events = [...(await res.text()).matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1] as string));
    expect(events.map((e) => [e.status, e.step, e.progressRatio])).toEqual([
      ["accepted", "queued", 0],
      ["running", "prepare", 0.2],
      ["running", "build", 0.4],
      ["failed", "push", 0.6],
    ]);
    expect(events.at(-1)?.diagnostics).toBe("action deploy failed at step push (as input.failAt asked)");
    const final = await t.call<Schemas["MachineInvocationResponseV1"]>("GET", `${invocations()}/inv-steps`);
    expect(final.body).toMatchObject({ status: "failed", error: events.at(-1)?.diagnostics });
  });

  it("refuses input the reference machine cannot run, naming the field", async () => {
    const bad = await t.call("POST", invocations(), invocation(machineId, "inv-bad", "deploy", { steps: ["a", "a"] }));
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ errors: { "/input/steps/1": ["a is already a step of the plan"] } });
    expect((await t.call("GET", `${invocations()}/inv-bad`)).status).toBe(404);
  });

  it("a client that closes its socket stops holding a subscription; the invocation runs on", async () => {
    const runner = t.module.service.invocations;
    await t.call("POST", invocations(), invocation(machineId, "inv-close", "index"));
    const s = await rawStream("inv-close");
    expect(s.text()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(s.text()).toMatch(/content-type: text\/event-stream/i);
    expect(runner.subscriptions).toBe(1);
    s.socket.destroy();
    await until(() => runner.subscriptions === 0);
    expect(runner.running).toBe(1);
    clock.advance(1000);
    const done = await t.call<Schemas["MachineInvocationResponseV1"]>("GET", `${invocations()}/inv-close`);
    expect(done.body.status).toBe("completed");
  });

  it("a dropped network connection ends the stream for the client and the subscription for the server", async () => {
    const runner = t.module.service.invocations;
    await t.call("POST", invocations(), invocation(machineId, "inv-drop", "index"));
    const s = await rawStream("inv-drop");
    expect(runner.subscriptions).toBe(1);
    t.server.dropConnections();
    await s.closed;
    await until(() => runner.subscriptions === 0);
    expect(runner.running).toBe(1);
    // A new connection resumes after the event it saw.
    const res = await fetch(`${t.baseUrl}${invocations()}/inv-drop/stream`, {
      headers: { authorization: `Bearer ${await t.token()}`, "last-event-id": "1" },
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    clock.advance(1000);
    let text = "";
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += new TextDecoder().decode(r.value);
    expect([...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]))).toEqual([2, 3, 4, 5]);
  });
});
