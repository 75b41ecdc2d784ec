import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  CanceledError,
  EdgemeshClient,
  estimatePlanCost,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  PlanBuilder,
  toBatonError,
  UnauthenticatedError,
} from "@baton/edgemesh";
import { type BatonServer, ManualClock } from "@baton/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeModel, startDevice, tempDir } from "./support.js";

const KEY = "test-key";

async function text(stream: ReadableStream<Uint8Array>): Promise<string> {
  let out = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>)
    out += decoder.decode(chunk, { stream: true });
  return out + decoder.decode();
}

describe("edgemesh: a three-device mesh on loopback", () => {
  let a: BatonServer;
  let b: BatonServer;
  let c: BatonServer;
  let model: Awaited<ReturnType<typeof fakeModel>>;
  let mesh: EdgemeshClient;
  const dirs = [tempDir(), tempDir(), tempDir()];
  const [rootA, rootB, rootC] = dirs.map((d) => realpathSync(d.dir)) as [string, string, string];

  beforeAll(async () => {
    model = await fakeModel({ barrier: 2 });
    const common = { "edgemesh.securityKey": KEY };
    a = await startDevice({
      ...common,
      "edgemesh.deviceId": "a",
      "edgemesh.deviceName": "A",
      "edgemesh.fileRoot": rootA,
    });
    b = await startDevice({
      ...common,
      "edgemesh.deviceId": "b",
      "edgemesh.deviceName": "B",
      "edgemesh.hasGpu": "true",
      "edgemesh.fileRoot": rootB,
      "edgemesh.join": a.addresses[0] as string,
    });
    mesh = new EdgemeshClient({ address: a.addresses[0] as string, heartbeatIntervalMs: 0 });
    await mesh.connect({ deviceName: "tester", securityKey: KEY });
  });

  afterAll(async () => {
    await mesh?.close();
    await c?.close();
    await b?.close();
    await a?.close();
    await model?.close();
    for (const d of dirs) d.cleanup();
  });

  it("refuses a wrong security key and an unknown session with UNAUTHENTICATED", async () => {
    const other = new EdgemeshClient({ address: a.addresses[0] as string });
    await expect(other.connect({ deviceName: "x", securityKey: "wrong" })).rejects.toBeInstanceOf(UnauthenticatedError);
    await expect(
      other.raw.executeCommand({ sessionId: "not-a-session", command: "pwd", args: [] }),
    ).rejects.toMatchObject({ code: 16 });
    // The server names the refusal in an ErrorInfo, so clients need not parse the message.
    const refused = await other.raw.heartbeat({ sessionId: "not-a-session" }).catch((e: unknown) => e);
    expect(toBatonError(refused).errorInfo?.reason).toBe("SESSION_UNKNOWN");
    await other.close();
  });

  it("close() during connect() leaves no heartbeat behind, and connect() after close() is refused", async () => {
    const racer = new EdgemeshClient({ address: a.addresses[0] as string, heartbeatIntervalMs: 5 });
    const connecting = racer.connect({ deviceName: "racer", securityKey: KEY });
    await racer.close();
    await expect(connecting).rejects.toBeInstanceOf(CanceledError);
    await expect(racer.connect({ deviceName: "racer", securityKey: KEY })).rejects.toBeInstanceOf(CanceledError);
    // No timer keeps heartbeating a closed client: the session it made is never heartbeated.
    const made = racer.session;
    expect(made).toBeUndefined();
  });

  it("refuses fractional or unsafe integer read options with INVALID_ARGUMENT, not an internal error", async () => {
    writeFileSync(join(rootA, "int.txt"), "0123456789");
    await expect(mesh.files.read("int.txt", { mode: "range", offset: 1.5, length: 2 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(mesh.files.read("int.txt", { mode: "head", maxBytes: 2 ** 40 })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
    await expect(mesh.devices.activity({ metricsSince: new Date(Number.NaN) })).rejects.toBeInstanceOf(
      InvalidArgumentError,
    );
  });

  it("runs allowlisted commands as child processes and refuses others with PERMISSION_DENIED", async () => {
    const r = await mesh.commands.execLocal("echo", ["hello", "$HOME"]);
    expect(r).toEqual({ exitCode: 0, stdout: "hello $HOME\n", stderr: "" });
    await expect(mesh.commands.execLocal("rm", ["-rf", rootA])).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(mesh.commands.execLocal("/bin/ls")).rejects.toBeInstanceOf(PermissionDeniedError);
  });

  it("routes without an NPU or a local model: each require-* fails naming why, the others fall back", async () => {
    const npu = mesh.commands.exec("pwd", [], { policy: { mode: "require-npu" } });
    await expect(npu).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(npu).rejects.toThrow(/NPU/);
    const llm = mesh.commands.exec("pwd", [], { policy: { mode: "require-local-model" } });
    await expect(llm).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(llm).rejects.toThrow(/local model/);
    // BEST_AVAILABLE: GPU (B) beats CPU (A); PREFER_LOCAL_MODEL without one falls back to it.
    expect((await mesh.commands.exec("pwd")).device.id).toBe("b");
    expect((await mesh.commands.exec("pwd", [], { policy: { mode: "prefer-local-model" } })).device.id).toBe("b");
  });

  it("forwards PREFER_REMOTE and FORCE_DEVICE_ID commands to the chosen device's grpc_addr", async () => {
    const remote = await mesh.commands.exec("pwd", [], { policy: { mode: "prefer-remote" } });
    expect(remote).toMatchObject({ device: { id: "b", name: "B", addr: b.addresses[0] }, executedLocally: false });
    expect(remote.stdout.trim()).toBe(rootB);
    expect(remote.totalTimeMs).toBeGreaterThan(0);
    const here = await mesh.commands.exec("pwd", [], { policy: { mode: "force-device", deviceId: "a" } });
    expect(here).toMatchObject({ device: { id: "a" }, executedLocally: true });
    expect(here.stdout.trim()).toBe(rootA);
    await expect(
      mesh.commands.exec("pwd", [], { policy: { mode: "force-device", deviceId: "nope" } }),
    ).rejects.toBeInstanceOf(NotFoundError);
    // The remote device applies its own allowlist.
    await expect(
      mesh.commands.exec("cat", ["/etc/passwd"], { policy: { mode: "prefer-remote" } }),
    ).rejects.toBeInstanceOf(PermissionDeniedError);
  });

  it("lists devices with real platform facts, reports status, metrics and health", async () => {
    const devices = await mesh.devices.list().toArray();
    expect(devices.map((d) => d.id)).toEqual(["a", "b"]);
    expect(devices[0]).toMatchObject({
      platform: process.platform === "win32" ? "windows" : process.platform,
      hasGpu: false,
    });
    expect(devices[1]).toMatchObject({ grpcAddr: b.addresses[0], hasGpu: true });
    expect(devices[1]?.ramFreeMb).toBeGreaterThan(0);
    const st = await mesh.devices.getHandle("b").status();
    expect(st.deviceId).toBe("b");
    expect(st.memTotalMb).toBeGreaterThan(0);
    expect(st.lastSeen.getTime()).toBeGreaterThan(0);
    expect((await mesh.devices.metrics("a")).length).toBeGreaterThan(0);
    await expect(mesh.devices.status("ghost")).rejects.toBeInstanceOf(NotFoundError);
    expect((await mesh.health()).deviceId).toBe("a");
  });

  it("adds a device with an NPU and a local model: BEST_AVAILABLE, REQUIRE_NPU and *_LOCAL_MODEL pick it", async () => {
    c = await startDevice({
      "edgemesh.securityKey": KEY,
      "edgemesh.deviceId": "c",
      "edgemesh.deviceName": "C",
      "edgemesh.hasNpu": "true",
      "edgemesh.localChatEndpoint": model.url,
      "edgemesh.localModelName": "tiny",
      "edgemesh.fileRoot": rootC,
      "edgemesh.join": a.addresses[0] as string,
    });
    for (const mode of ["best-available", "require-npu", "prefer-local-model", "require-local-model"] as const) {
      const r = await mesh.commands.exec("pwd", [], { policy: { mode } });
      expect(r.device.id, mode).toBe("c");
      expect(r.stdout.trim(), mode).toBe(rootC);
    }
    // PREFER_REMOTE picks the best device other than A: C (NPU) over B (GPU).
    expect((await mesh.commands.exec("pwd", [], { policy: { mode: "prefer-remote" } })).device.id).toBe("c");
  });

  it("runs groups in order and a group's tasks in parallel, on their devices, and CONCATs in plan order", async () => {
    const plan = new PlanBuilder()
      .group(
        { taskId: "llm-1", kind: "LLM_GENERATE", input: "one", targetDeviceId: "c" },
        { taskId: "llm-2", kind: "LLM_GENERATE", input: "two" },
      )
      .group(
        { taskId: "echo", kind: "ECHO", input: "three", targetDeviceId: "b" },
        { taskId: "sys", kind: "SYSINFO", targetDeviceId: "b" },
      )
      .build();
    const job = await mesh.jobs.submit({ text: "ordered", plan });
    const seen: string[] = [];
    for await (const s of job.progress({ minPollMs: 5 })) seen.push(s.state);
    expect(seen.at(-1)).toBe("DONE");
    const done = await job.wait({ timeoutMs: 20_000 });
    expect(done.currentGroup).toBe(2);
    expect(done.totalGroups).toBe(2);
    // The fake model answered "tiny:" only when both prompts were in flight together.
    expect(done.tasks.map((t) => t.result.split("\n")[0]).slice(0, 3)).toEqual(["tiny:one", "tiny:two", "three"]);
    expect(done.tasks.map((t) => t.deviceId)).toEqual(["c", "c", "b", "b"]);
    expect(JSON.parse(done.tasks[3]?.result ?? "{}")).toMatchObject({ device_id: "b", device_name: "B" });
    expect(done.finalResult).toBe(done.tasks.map((t) => t.result).join("\n"));
    const d = await job.detail();
    // The detail says what the status says of the job and of each task, and more.
    expect(d).toMatchObject({
      id: done.id,
      state: "DONE",
      finalResult: done.finalResult,
      currentGroup: 2,
      totalGroups: 2,
    });
    expect(d.tasks).toMatchObject(done.tasks);
    expect(d.tasks.map((t) => [t.kind, t.input])).toEqual([
      ["LLM_GENERATE", "one"],
      ["LLM_GENERATE", "two"],
      ["ECHO", "three"],
      ["SYSINFO", ""],
    ]);
    const [g0, g1] = [d.tasks.filter((t) => t.groupIndex === 0), d.tasks.filter((t) => t.groupIndex === 1)];
    const g0End = Math.max(...g0.map((t) => t.endedAt?.getTime() ?? Number.POSITIVE_INFINITY));
    for (const t of g1) expect(t.startedAt?.getTime()).toBeGreaterThanOrEqual(g0End);
  });

  it("fails a job on a failing task and never starts the later groups", async () => {
    const plan = new PlanBuilder()
      .group({ taskId: "ok", kind: "ECHO", input: "x" }, { taskId: "bad", kind: "BOGUS" })
      .group({ taskId: "later", kind: "ECHO", input: "never" })
      .build();
    const done = await (await mesh.jobs.submit({ text: "fails", plan })).wait({ timeoutMs: 20_000 });
    expect(done.state).toBe("FAILED");
    expect(done.tasks.map((t) => t.state)).toEqual(["DONE", "FAILED", "QUEUED"]);
    expect(done.tasks[1]?.error).toMatch(/unknown task kind/);
    expect(done.finalResult).toBe("");
    await expect(
      mesh.jobs.submit({ text: "x", plan: new PlanBuilder().group({ kind: "ECHO", targetDeviceId: "ghost" }).build() }),
    ).rejects.toBeInstanceOf(NotFoundError);
  });

  it("previews the deterministic fallback plan and runs it when a job has none", async () => {
    const p = await mesh.plans.preview("inventory", { maxWorkers: 2 });
    expect(p.usedAi).toBe(false);
    expect(p.notes).toMatch(/fallback/);
    expect(p.rationale).toMatch(/2 of 3/);
    expect(p.plan.groups[0]?.tasks.map((t) => [t.kind, t.targetDeviceId])).toEqual([
      ["SYSINFO", "a"],
      ["SYSINFO", "b"],
    ]);
    const done = await (await mesh.jobs.submit({ text: "inventory" })).wait({ timeoutMs: 20_000 });
    expect(done.state).toBe("DONE");
    expect(done.tasks.map((t) => t.deviceId)).toEqual(["a", "b", "c"]);
  });

  it("prices a mixed plan on a laptop, a phone and a device with its own throughput, as estimatePlanCost does", async () => {
    await mesh.devices.register({ id: "laptop", name: "Laptop", platform: "darwin", ramFreeMb: 8192 });
    await mesh.devices.register({ id: "phone", name: "Phone", platform: "android", ramFreeMb: 1024 });
    await mesh.devices.register({
      id: "fast",
      name: "Fast",
      platform: "linux",
      llmPrefillToksPerS: 1000,
      llmDecodeToksPerS: 50,
    });
    const plan = new PlanBuilder()
      .group(
        { taskId: "gen", kind: "LLM_GENERATE", promptTokens: 600, maxOutputTokens: 60 },
        { taskId: "e", kind: "ECHO" },
      )
      .group({ taskId: "s", kind: "SYSINFO" }, { taskId: "q", kind: "QUANTUM" })
      .build();
    const ids = ["laptop", "phone", "fast"];
    const cost = await mesh.plans.cost(plan, { deviceIds: ids });
    const byId = Object.fromEntries(cost.deviceCosts.map((d) => [d.deviceId, d]));
    // (600/300 + 60/30) s = 4000 ms, then max(10, 250) = 250 ms.
    expect(byId.laptop?.totalMs).toBeCloseTo(4250, 6);
    // (600/120 + 60/12) s = 10000 ms, then 250 ms.
    expect(byId.phone?.totalMs).toBeCloseTo(10250, 6);
    // (600/1000 + 60/50) s = 1800 ms, then 250 ms.
    expect(byId.fast?.totalMs).toBeCloseTo(2050, 6);
    expect(cost.recommendedDeviceId).toBe("fast");
    expect(cost.totalPredictedMs).toBeCloseTo(2050, 6);
    expect(cost.hasUnknownCosts).toBe(true);
    expect(byId.phone?.stepCosts[0]?.notes).toMatch(/default prefill TPS 120 \(phone\)/);
    expect(byId.laptop?.stepCosts[0]?.notes).toMatch(/default prefill TPS 300 \(laptop\)/);
    expect(byId.fast?.stepCosts[0]?.notes).toMatch(/device prefill 1000/);
    expect(byId.phone?.stepCosts.find((s) => s.taskId === "q")).toMatchObject({ predictedMs: 250, unknownCost: true });
    expect(byId.phone).toMatchObject({ estimatedPeakRamMb: 2049, ramSufficient: false });
    expect(byId.laptop?.ramSufficient).toBe(true);
    // The offline model gives exactly the server's numbers for the same devices in the same order.
    const devices = (await mesh.devices.list().toArray()).filter((d) => ids.includes(d.id));
    const offline = estimatePlanCost(
      plan,
      ids.map((id) => devices.find((d) => d.id === id) as (typeof devices)[number]),
    );
    expect(offline).toEqual(cost);
    await expect(mesh.plans.cost(plan, { deviceIds: ["ghost"] })).rejects.toBeInstanceOf(NotFoundError);
  });

  it("downloads a file once through a ticket; refuses reuse, unknown tokens and paths outside the root", async () => {
    writeFileSync(join(rootA, "report.txt"), "edge report\n");
    const ticket = await mesh.files.createDownloadTicket("report.txt");
    expect(ticket).toMatchObject({ filename: "report.txt", sizeBytes: 12 });
    expect(await text(await mesh.files.download(ticket))).toBe("edge report\n");
    await expect(mesh.files.download(ticket)).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(mesh.files.download("never-issued")).rejects.toBeInstanceOf(NotFoundError);
    // A token with bad percent-encoding is the caller's mistake (400), not a server failure.
    const malformed = await fetch(`http://${a.addresses[0]}/bulk/download/%E0%A4%A`);
    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toBe("malformed download token\n");
    mkdirSync(join(rootA, "sub"), { recursive: true });
    symlinkSync(rootB, join(rootA, "sub", "out"));
    writeFileSync(join(rootB, "secret.txt"), "nope");
    for (const bad of ["../x", "sub/../../etc/passwd", "/etc/passwd", "sub/out/secret.txt"]) {
      await expect(mesh.files.createDownloadTicket(bad), bad).rejects.toBeInstanceOf(PermissionDeniedError);
      await expect(mesh.files.read(bad), bad).rejects.toBeInstanceOf(PermissionDeniedError);
    }
    await expect(mesh.files.createDownloadTicket("missing.txt")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("reads files in FULL, HEAD, TAIL and RANGE modes, here and on another device", async () => {
    writeFileSync(join(rootA, "abc.txt"), "abcdefghij");
    const read = (o: Parameters<typeof mesh.files.read>[1]) =>
      mesh.files.read("abc.txt", o).then((r) => [Buffer.from(r.content).toString(), r.truncated, r.sizeBytes]);
    expect(await read({})).toEqual(["abcdefghij", false, 10]);
    expect(await read({ mode: "head", maxBytes: 3 })).toEqual(["abc", true, 10]);
    expect(await read({ mode: "tail", maxBytes: 3 })).toEqual(["hij", false, 10]);
    expect(await read({ mode: "range", offset: 2, length: 4 })).toEqual(["cdef", false, 10]);
    writeFileSync(join(rootB, "b.txt"), "on b");
    expect(Buffer.from((await mesh.files.read("b.txt", { deviceId: "b" })).content).toString()).toBe("on b");
  });

  it("runs LLM tasks on a device with a local model only, calling its Ollama-style endpoint", async () => {
    await expect(mesh.llm.runLlmTask("hi")).rejects.toBeInstanceOf(FailedPreconditionError);
    const onC = new EdgemeshClient({ address: c.addresses[0] as string });
    try {
      // C's endpoint answers a pair of prompts in flight together: send two.
      const [x, y] = await Promise.all([onC.llm.runLlmTask("red", { maxTokens: 5 }), onC.llm.runLlmTask("blue")]);
      expect([x.output, y.output]).toEqual(["tiny:red", "tiny:blue"]);
      expect(x).toMatchObject({ modelUsed: "tiny", tokensGenerated: 3 });
    } finally {
      await onC.close();
    }
    // A routed AI task goes to the NPU device.
    expect(await mesh.llm.runAiTask("ECHO", "ping")).toMatchObject({ deviceId: "c", usedNpu: true, result: "ping" });
  });

  it("keeps chat memory, newest copy wins", async () => {
    expect(await mesh.chatMemory.get()).toBeUndefined();
    expect(await mesh.chatMemory.sync({ deviceId: "x", updatedAt: 2000, memory: { turns: 2 } })).toEqual({
      updated: true,
      memory: { turns: 2 },
    });
    expect(await mesh.chatMemory.sync({ deviceId: "y", updatedAt: 1000, memory: { turns: 1 } })).toEqual({
      updated: false,
      memory: { turns: 2 },
    });
    expect(await mesh.chatMemory.get()).toEqual({ turns: 2 });
  });

  it("says plainly that WebRTC cannot capture here, and knows no streams", async () => {
    await expect(mesh.webrtc.start()).rejects.toThrow(/cannot capture/);
    await expect(mesh.webrtc.start()).rejects.toBeInstanceOf(FailedPreconditionError);
    await expect(mesh.webrtc.complete("s1", "v=0")).rejects.toBeInstanceOf(NotFoundError);
    await expect(mesh.webrtc.stop("s1")).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe("edgemesh: expiry on the server's clock", () => {
  const clock = new ManualClock(Date.now());
  let server: BatonServer;
  let mesh: EdgemeshClient;
  const dir = tempDir();

  beforeAll(async () => {
    server = await startDevice(
      {
        "edgemesh.securityKey": KEY,
        "edgemesh.sessionTtlMs": "60000",
        "edgemesh.ticketTtlMs": "5000",
        "edgemesh.staleAfterMs": "30000",
        "edgemesh.fileRoot": dir.dir,
      },
      clock,
    );
    mesh = new EdgemeshClient({ address: server.addresses[0] as string, heartbeatIntervalMs: 0 });
  });
  afterAll(async () => {
    await mesh?.close();
    await server?.close();
    dir.cleanup();
  });

  it("expires sessions; Heartbeat extends them; the client re-makes an expired one once, transparently", async () => {
    const first = await mesh.connect({ deviceName: "t", securityKey: KEY });
    clock.advance(50_000);
    await mesh.heartbeat();
    clock.advance(50_000); // 100 s after creation, 50 s after the heartbeat: still alive
    await expect(mesh.raw.heartbeat({ sessionId: first.id })).resolves.toBeDefined();
    clock.advance(61_000);
    await expect(mesh.raw.executeCommand({ sessionId: first.id, command: "pwd", args: [] })).rejects.toMatchObject({
      code: 16,
      rawMessage: "session expired",
    });
    const r = await mesh.commands.execLocal("pwd");
    expect(r.exitCode).toBe(0);
    expect(mesh.session?.id).not.toBe(first.id);
  });

  it("expires download tickets", async () => {
    writeFileSync(join(dir.dir, "f.bin"), "x");
    const t = await mesh.files.createDownloadTicket("f.bin");
    clock.advance(5_001);
    await expect(mesh.files.download(t)).rejects.toBeInstanceOf(FailedPreconditionError);
  });

  it("lets devices that stop re-registering go stale", async () => {
    await mesh.devices.register({ id: "visitor", name: "V", platform: "ios" });
    expect((await mesh.devices.list().toArray()).map((d) => d.id)).toContain("visitor");
    clock.advance(30_001);
    const ids = (await mesh.devices.list().toArray()).map((d) => d.id);
    expect(ids).not.toContain("visitor");
    expect(ids).toHaveLength(1);
  });
});
