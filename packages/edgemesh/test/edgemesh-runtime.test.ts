import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { hostname } from "node:os";
import {
  CanceledError,
  DeadlineExceededError,
  EdgemeshClient,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PlanBuilder,
} from "@baton/edgemesh";
import { type BatonServer, ManualClock } from "@baton/server";
import type { Interceptor } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevice, tempDir } from "./support.js";

const KEY = "runtime-key";

/**
 * An Ollama-style endpoint that holds every request until `release()`: a local model that
 * never answers on its own. `arrived` resolves when the next request comes in.
 */
async function stuckModel(): Promise<{
  url: string;
  arrived: () => Promise<string>;
  release: () => void;
  close: () => Promise<void>;
}> {
  const held: Array<{ res: ServerResponse; prompt: string }> = [];
  let waiters: Array<(prompt: string) => void> = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString("utf8");
    });
    req.on("end", () => {
      const { prompt = "" } = JSON.parse(body || "{}") as { prompt?: string };
      held.push({ res, prompt });
      const w = waiters;
      waiters = [];
      for (const f of w) f(prompt);
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    arrived: () => new Promise((r) => waiters.push(r)),
    release: () => {
      for (const { res, prompt } of held.splice(0)) {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ model: "stuck", response: `late:${prompt}`, eval_count: 1, done: true }));
      }
    },
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** Counts completed calls per method name and lets a test wait for the next one of a method. */
function callCounter(): {
  interceptor: Interceptor;
  count: (method: string) => number;
  next: (method: string) => Promise<void>;
} {
  const counts = new Map<string, number>();
  const waiters: Array<{ method: string; done: () => void }> = [];
  const interceptor: Interceptor = (next) => async (req) => {
    const method = req.method.name;
    // Only waiters registered before this call started are woken by it: the call is then
    // known to have reached the server after whatever the test did before waiting.
    const mine = waiters.filter((w) => w.method === method);
    for (const w of mine) waiters.splice(waiters.indexOf(w), 1);
    const res = await next(req);
    counts.set(method, (counts.get(method) ?? 0) + 1);
    for (const w of mine) w.done();
    return res;
  };
  return {
    interceptor,
    count: (method) => counts.get(method) ?? 0,
    next: (method) => new Promise((done) => waiters.push({ method, done })),
  };
}

describe("edgemesh: ExecuteCommand's time limit and output cap", () => {
  let server: BatonServer;
  let mesh: EdgemeshClient;
  const dir = tempDir();

  beforeAll(async () => {
    server = await startDevice({
      "edgemesh.securityKey": KEY,
      "edgemesh.allowedCommands": "sleep,echo",
      "edgemesh.commandTimeoutMs": "300",
      "edgemesh.commandOutputBytes": "16",
      "edgemesh.fileRoot": dir.dir,
    });
    mesh = new EdgemeshClient({ address: server.addresses[0] as string, heartbeatIntervalMs: 0 });
    await mesh.connect({ deviceName: "limits", securityKey: KEY });
  });
  afterAll(async () => {
    await mesh?.close();
    await server?.close();
    dir.cleanup();
  });

  it("kills a command that runs past the limit and reports it (exit 124, a note on stderr)", async () => {
    const r = await mesh.commands.execLocal("sleep", ["600"]);
    expect(r.exitCode).toBe(124);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("sleep: killed after 300 ms\n");
    // The routed path runs the same limits.
    const routed = await mesh.commands.exec("sleep", ["600"]);
    expect(routed).toMatchObject({ exitCode: 124, executedLocally: true });
  });

  it("cuts output beyond the cap and says so; output within the cap is untouched", async () => {
    const long = "0123456789abcdefghijklmnopqrstuvwxyz";
    const r = await mesh.commands.execLocal("echo", [long]);
    expect(r).toEqual({ exitCode: 0, stdout: long.slice(0, 16), stderr: "echo: output cut at 16 bytes\n" });
    expect(await mesh.commands.execLocal("echo", ["short"])).toEqual({ exitCode: 0, stdout: "short\n", stderr: "" });
    // Exactly at the cap: nothing was dropped, so nothing is said.
    expect(await mesh.commands.execLocal("echo", ["0123456789abcde"])).toEqual({
      exitCode: 0,
      stdout: "0123456789abcde\n",
      stderr: "",
    });
  });

  it("keeps refusing what is off the configured allowlist, even the defaults", async () => {
    await expect(mesh.commands.execLocal("pwd")).rejects.toThrow(/not allowed \(allowed: sleep, echo\)/);
  });
});

describe("edgemesh: the client's session heartbeat on the server's clock", () => {
  const clock = new ManualClock(Date.now());
  let server: BatonServer;
  const dir = tempDir();

  beforeAll(async () => {
    server = await startDevice(
      { "edgemesh.securityKey": KEY, "edgemesh.sessionTtlMs": "60000", "edgemesh.fileRoot": dir.dir },
      clock,
    );
  });
  afterAll(async () => {
    await server?.close();
    dir.cleanup();
  });

  it("sends Heartbeat on its interval, each extending the session on the server", async () => {
    const calls = callCounter();
    const mesh = new EdgemeshClient({
      address: server.addresses[0] as string,
      heartbeatIntervalMs: 20,
      interceptors: [calls.interceptor],
    });
    try {
      const s = await mesh.connect({ deviceName: "beater", securityKey: KEY });
      for (let i = 0; i < 3; i++) {
        // 50 s per round, 150 s in all: past the 60 s TTL unless each heartbeat extended it.
        clock.advance(50_000);
        await calls.next("Heartbeat");
      }
      expect(calls.count("Heartbeat")).toBeGreaterThanOrEqual(3);
      await expect(mesh.raw.executeCommand({ sessionId: s.id, command: "pwd", args: [] })).resolves.toMatchObject({
        exitCode: 0,
      });
      expect(mesh.session?.id).toBe(s.id);
      expect(calls.count("CreateSession")).toBe(1);
    } finally {
      await mesh.close();
    }
  });

  it("re-makes a session that expired between heartbeats once, from the heartbeat itself", async () => {
    const calls = callCounter();
    const mesh = new EdgemeshClient({
      address: server.addresses[0] as string,
      heartbeatIntervalMs: 20,
      interceptors: [calls.interceptor],
    });
    try {
      const first = await mesh.connect({ deviceName: "sleeper", securityKey: KEY });
      const remade = calls.next("CreateSession");
      clock.advance(61_000);
      await remade;
      await calls.next("Heartbeat"); // a heartbeat on the new session, after the re-make
      expect(calls.count("CreateSession")).toBe(2);
      const second = mesh.session;
      expect(second?.id).toBeDefined();
      expect(second?.id).not.toBe(first.id);
      await expect(mesh.raw.heartbeat({ sessionId: first.id })).rejects.toMatchObject({ code: 16 });
      expect((await mesh.commands.execLocal("pwd")).exitCode).toBe(0);
      expect(mesh.session?.id).toBe(second?.id);
      expect(calls.count("CreateSession")).toBe(2);
    } finally {
      await mesh.close();
    }
  });

  it("refuses connect() without string credentials before calling, and calls before connect()", async () => {
    const calls = callCounter();
    const mesh = new EdgemeshClient({ address: server.addresses[0] as string, interceptors: [calls.interceptor] });
    try {
      await expect(mesh.connect({ deviceName: "x" } as never)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(mesh.connect(undefined as never)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(mesh.commands.execLocal("pwd")).rejects.toBeInstanceOf(FailedPreconditionError);
      await expect(mesh.commands.execLocal("pwd")).rejects.toThrow(/call client.connect/);
      expect(calls.count("CreateSession")).toBe(0);
      expect(calls.count("ExecuteCommand")).toBe(0);
    } finally {
      await mesh.close();
    }
  });

  it("stops heartbeating at close()", async () => {
    const calls = callCounter();
    const mesh = new EdgemeshClient({
      address: server.addresses[0] as string,
      heartbeatIntervalMs: 20,
      interceptors: [calls.interceptor],
    });
    const s = await mesh.connect({ deviceName: "closer", securityKey: KEY });
    await calls.next("Heartbeat");
    await mesh.close();
    expect(mesh.session).toBeUndefined();
    // Nothing keeps it alive now: past the TTL the server has forgotten it.
    clock.advance(61_000);
    const probe = new EdgemeshClient({ address: server.addresses[0] as string, heartbeatIntervalMs: 0 });
    try {
      await expect(probe.raw.heartbeat({ sessionId: s.id })).rejects.toMatchObject({ code: 16 });
    } finally {
      await probe.close();
    }
  });
});

describe("edgemesh: jobs that do not finish, activity, health, AI tasks, chat memory", () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 2, 3, 4, 5));
  let a: BatonServer;
  let b: BatonServer;
  let model: Awaited<ReturnType<typeof stuckModel>>;
  let mesh: EdgemeshClient;
  let onB: EdgemeshClient;
  const dirs = [tempDir(), tempDir()];

  beforeAll(async () => {
    model = await stuckModel();
    a = await startDevice(
      {
        "edgemesh.securityKey": KEY,
        "edgemesh.deviceId": "a",
        "edgemesh.deviceName": "A",
        "edgemesh.hasNpu": "true",
        "edgemesh.localChatEndpoint": model.url,
        "edgemesh.localModelName": "stuck",
        "edgemesh.fileRoot": dirs[0]?.dir as string,
      },
      clock,
    );
    b = await startDevice({
      "edgemesh.securityKey": KEY,
      "edgemesh.deviceId": "b",
      "edgemesh.deviceName": "B",
      "edgemesh.fileRoot": dirs[1]?.dir as string,
    });
    mesh = new EdgemeshClient({ address: a.addresses[0] as string, heartbeatIntervalMs: 0 });
    await mesh.connect({ deviceName: "tester", securityKey: KEY });
    onB = new EdgemeshClient({ address: b.addresses[0] as string, heartbeatIntervalMs: 0 });
    await onB.connect({ deviceName: "tester", securityKey: KEY });
  });
  afterAll(async () => {
    await onB?.close();
    await mesh?.close();
    await model?.close();
    await b?.close();
    await a?.close();
    for (const d of dirs) d.cleanup();
  });

  it("answers health from real state and the server's clock", async () => {
    const h = await mesh.health();
    expect(h.deviceId).toBe("a");
    expect(h.serverTime.getTime()).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(h.message).toBe("ok: 1 live device(s), 1 session(s), 0 job(s) in progress");
    clock.advance(7_000);
    expect((await mesh.health()).serverTime.getTime()).toBe(Date.UTC(2026, 0, 2, 3, 4, 12));
  });

  it("counts only live sessions in health: a second one adds, expired ones (never touched again) drop out", async () => {
    const other = new EdgemeshClient({ address: a.addresses[0] as string, heartbeatIntervalMs: 0 });
    try {
      await other.connect({ deviceName: "second", securityKey: KEY });
      expect((await mesh.health()).message).toMatch(/, 2 session\(s\),/);
      clock.advance(30 * 60 * 1000 + 1); // past the default 30 min TTL: both expire
      expect((await mesh.health()).message).toMatch(/, 0 session\(s\),/);
      // The client re-makes its own session on its next call.
      expect((await mesh.commands.execLocal("pwd")).exitCode).toBe(0);
      expect((await mesh.health()).message).toMatch(/, 1 session\(s\),/);
    } finally {
      await other.close();
    }
  });

  it("wait({ timeoutMs }) rejects with DeadlineExceededError while the job is blocked; activity and health show it running", async () => {
    const arrived = model.arrived();
    const job = await mesh.jobs.submit({
      text: "blocked",
      plan: new PlanBuilder().group({ taskId: "gen", kind: "LLM_GENERATE", input: "hello?" }).build(),
    });
    expect(await arrived).toBe("hello?");
    await expect(job.wait({ timeoutMs: 200 })).rejects.toBeInstanceOf(DeadlineExceededError);
    await expect(job.wait({ timeoutMs: 200 })).rejects.toThrow(/did not finish within 200 ms/);
    // A fractional limit is a limit too; a negative or non-finite one is refused, not a RangeError.
    await expect(job.wait({ timeoutMs: 0.5 })).rejects.toBeInstanceOf(DeadlineExceededError);
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY])
      await expect(job.wait({ timeoutMs: bad }), String(bad)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect((await job.status()).state).toBe("RUNNING");

    const act = await mesh.devices.activity({ includeMetrics: true });
    expect(act.runningTasks).toHaveLength(1);
    expect(act.runningTasks[0]).toMatchObject({ taskId: "gen", jobId: job.id, kind: "LLM_GENERATE", deviceId: "a" });
    expect(act.devices).toEqual([expect.objectContaining({ deviceId: "a", deviceName: "A", runningTaskCount: 1 })]);
    // The load history is sampled on the server's clock (at start and as it moved since),
    // oldest first; metricsSince keeps the samples at or after it.
    const times = (act.metrics.a ?? []).map((m) => m.at.getTime());
    expect(times.length).toBeGreaterThanOrEqual(2);
    expect(times[0]).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect([...times].sort((x, y) => x - y)).toEqual(times);
    expect(new Set(times).size).toBe(times.length);
    expect(times.at(-1)).toBeLessThanOrEqual(clock.now());
    const cut = times[1] as number;
    const recent = await mesh.devices.activity({ includeMetrics: true, metricsSince: new Date(cut) });
    expect(recent.metrics.a?.map((m) => m.at.getTime())).toEqual(times.slice(1));
    expect((await mesh.health()).message).toMatch(/, 1 job\(s\) in progress$/);

    // The model answers at last: the job finishes, the activity empties.
    model.release();
    const done = await job.wait({ timeoutMs: 20_000 });
    expect(done).toMatchObject({ state: "DONE", finalResult: "late:hello?" });
    const after = await mesh.devices.activity();
    expect(after.runningTasks).toEqual([]);
    expect(after.devices[0]?.runningTaskCount).toBe(0);
    expect(after.metrics).toEqual({});
  });

  it("wait({ signal }) rejects with CanceledError when the signal aborts, and leaves the job running", async () => {
    const arrived = model.arrived();
    const job = await mesh.jobs.submit({
      text: "cancel the wait",
      plan: new PlanBuilder().group({ taskId: "gen2", kind: "LLM_GENERATE", input: "still there?" }).build(),
    });
    await arrived;
    const ac = new AbortController();
    const waiting = job.wait({ signal: ac.signal });
    ac.abort();
    await expect(waiting).rejects.toBeInstanceOf(CanceledError);
    // Both given: the caller's abort is a cancel, not a deadline.
    const ac2 = new AbortController();
    const both = job.wait({ signal: ac2.signal, timeoutMs: 60_000 });
    ac2.abort();
    await expect(both).rejects.toBeInstanceOf(CanceledError);
    const pre = new AbortController();
    pre.abort();
    await expect(job.wait({ signal: pre.signal })).rejects.toBeInstanceOf(CanceledError);
    expect((await job.status()).state).toBe("RUNNING");
    // Poll settings that would hammer the server are refused.
    for (const bad of [
      { minPollMs: 0 },
      { minPollMs: -5 },
      { minPollMs: 100, maxPollMs: 10 },
      { maxPollMs: Number.NaN },
    ])
      await expect(job.progress(bad).next(), JSON.stringify(bad)).rejects.toBeInstanceOf(InvalidArgumentError);
    model.release();
    expect((await job.wait({ timeoutMs: 20_000 })).finalResult).toBe("late:still there?");
  });

  it("runs AI tasks for real on the device the server picks", async () => {
    expect(await mesh.llm.runAiTask("ECHO", "ping")).toEqual({
      deviceId: "a",
      deviceAddr: a.addresses[0],
      usedNpu: true,
      result: "ping",
    });
    const sys = await mesh.llm.runAiTask("sysinfo");
    expect(JSON.parse(sys.result)).toMatchObject({ device_id: "a", device_name: "A", hostname: hostname() });
    const arrived = model.arrived();
    const gen = mesh.llm.runAiTask("LLM_GENERATE", "think");
    expect(await arrived).toBe("think");
    model.release();
    expect((await gen).result).toBe("late:think");
    await expect(mesh.llm.runAiTask("TELEPORT")).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(mesh.llm.runAiTask("TELEPORT")).rejects.toThrow(/known: SYSINFO, ECHO, LLM_GENERATE/);
    // B alone has no local model: LLM_GENERATE cannot run there, ECHO can.
    const noModel = onB.llm.runAiTask("LLM_GENERATE", "x");
    await expect(noModel).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(noModel).rejects.toThrow(/local model/);
    expect(await onB.llm.runAiTask("ECHO", "pong")).toMatchObject({ deviceId: "b", usedNpu: false, result: "pong" });
  });

  it("round-trips chat memory intact; the newest copy wins whichever device sent it; each server keeps its own", async () => {
    const memory = { turns: [{ role: "user", text: "héllo \u{1F600}" }], n: 3, nested: { ok: true } };
    expect(await mesh.chatMemory.sync({ deviceId: "phone", updatedAt: new Date(5_000), memory })).toEqual({
      updated: true,
      memory,
    });
    expect(await mesh.chatMemory.get()).toEqual(memory);
    // Another device with a newer copy replaces it: the memory is the mesh's, not per device.
    expect(await mesh.chatMemory.sync({ deviceId: "laptop", updatedAt: 6_000, memory: { n: 4 } })).toEqual({
      updated: true,
      memory: { n: 4 },
    });
    // The same version again is not newer.
    expect(await mesh.chatMemory.sync({ deviceId: "phone", updatedAt: 6_000, memory })).toEqual({
      updated: false,
      memory: { n: 4 },
    });
    // B never saw any of it.
    expect(await onB.chatMemory.get()).toBeUndefined();
    expect(await onB.chatMemory.sync({ deviceId: "phone", updatedAt: 1, memory: { b: 1 } })).toEqual({
      updated: true,
      memory: { b: 1 },
    });
    expect(await mesh.chatMemory.get()).toEqual({ n: 4 });
    await expect(
      mesh.raw.syncChatMemory({ deviceId: "x", lastUpdatedMs: 9_000n, memoryJson: "{not json" }),
    ).rejects.toMatchObject({ code: 3 });
    for (const updatedAt of [new Date(Number.NaN), Number.POSITIVE_INFINITY])
      await expect(mesh.chatMemory.sync({ deviceId: "x", updatedAt, memory: {} })).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
    expect(await mesh.chatMemory.get()).toEqual({ n: 4 });
  });

  it("GetActivity shows a task running on another device of the mesh, counted on that device", async () => {
    const cModel = await stuckModel();
    const c = await startDevice({
      "edgemesh.securityKey": KEY,
      "edgemesh.deviceId": "c",
      "edgemesh.deviceName": "C",
      "edgemesh.localChatEndpoint": cModel.url,
      "edgemesh.fileRoot": dirs[1]?.dir as string,
      "edgemesh.join": a.addresses[0] as string,
    });
    try {
      const arrived = cModel.arrived();
      const job = await mesh.jobs.submit({
        text: "remote",
        plan: new PlanBuilder()
          .group({ taskId: "far", kind: "LLM_GENERATE", input: "over there", targetDeviceId: "c" })
          .build(),
      });
      expect(await arrived).toBe("over there");
      const act = await mesh.devices.activity();
      expect(act.runningTasks.map((t) => [t.taskId, t.jobId, t.deviceId, t.deviceName])).toEqual([
        ["far", job.id, "c", "C"],
      ]);
      expect(act.devices.map((d) => [d.deviceId, d.runningTaskCount])).toEqual([
        ["a", 0],
        ["c", 1],
      ]);
      // C's own model holds the prompt (it arrived there above): releasing it finishes the job.
      cModel.release();
      expect((await job.wait({ timeoutMs: 20_000 })).finalResult).toBe("late:over there");
      expect((await mesh.devices.activity()).runningTasks).toEqual([]);
    } finally {
      await c.close();
      await cModel.close();
    }
  });

  it("WebRTC: Start fails FAILED_PRECONDITION naming why; Complete and Stop know no stream", async () => {
    const start = mesh.webrtc.start();
    await expect(start).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(start).rejects.toThrow(/device A cannot capture its screen \(can_screen_capture = false\)/);
    await expect(mesh.webrtc.complete("never-started", "v=0")).rejects.toThrow(/no WebRTC stream "never-started"/);
    await expect(mesh.webrtc.complete("never-started", "v=0")).rejects.toBeInstanceOf(NotFoundError);
    await expect(mesh.webrtc.stop("never-started")).rejects.toBeInstanceOf(NotFoundError);
  });
});
