import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ContainerState, EventType } from "@baton/baaaht/wire";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
} from "@baton/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, rejectsWith, startHarness, take, until } from "./helpers.js";

let h: Harness;
let p: Harness;
beforeAll(async () => {
  [h, p] = await Promise.all([startHarness(), startHarness({ "baaaht.containerRuntime": "process" })]);
});
afterAll(async () => {
  await Promise.all([h?.close(), p?.close()]);
});

describe("containers (record runtime)", () => {
  it("goes through created, running, stopped, removed, with events", async () => {
    const handle = await h.unix.sessions.create({ config: { maxContainers: 10 } });
    const events = h.unix.events.subscribe({ sessionId: handle.id, source: "container-runtime", since: 0 });
    const c = await h.unix.containers.create(handle.id, {
      image: "python:3.11",
      command: ["python"],
      args: ["-u", "script.py"],
      workingDir: "/workspace",
      env: { PYTHONUNBUFFERED: "1" },
    });
    const created = await c.get();
    expect(created.id).toBe(c.id);
    expect(created.state).toBe(ContainerState.RUNNING);
    expect(created.sessionId).toBe(handle.id);
    expect((await handle.get()).containerIds).toEqual([c.id]);
    expect((await h.tcp.containers.get(c.id)).image).toBe("python:3.11");
    const running = await h.unix.containers.list({ sessionId: handle.id, state: "RUNNING" });
    expect(running.items.map((x) => x.id)).toEqual([c.id]);
    await rejectsWith(h.unix.containers.remove(c.id), FailedPreconditionError);
    expect(await h.unix.containers.stop(c.id, { timeoutMs: 1000 })).toBe(ContainerState.EXITED);
    const stopped = await h.unix.containers.get(c.id);
    expect(stopped.exitedAt).toBeDefined();
    expect(await h.unix.containers.list({ sessionId: handle.id, state: "RUNNING" }).toArray()).toEqual([]);
    await c.remove();
    await rejectsWith(h.unix.containers.get(c.id), NotFoundError);
    expect((await handle.get()).containerIds).toEqual([]);
    const types = (await take(events, 4)).map((e) => e.type);
    expect(types).toEqual([
      EventType.CONTAINER_CREATED,
      EventType.CONTAINER_STARTED,
      EventType.CONTAINER_STOPPED,
      EventType.CONTAINER_REMOVED,
    ]);
  });

  it("says in GetStatus and HealthCheck that it records without executing", async () => {
    let runtime: string | null = null;
    const res = await h.unix.raw.orchestrator.getStatus(
      {},
      { onHeader: (hd) => (runtime = hd.get("baaaht-container-runtime")) },
    );
    expect(runtime).toBe("record");
    expect(res.activeSessions).toBe((await h.unix.sessions.list({ state: "ACTIVE" })).items.length);
    const health = await h.unix.orchestratorHealth();
    expect(health.subsystems.join(" ")).toMatch(/record: no container engine/);
  });

  it("enforces max_containers with RESOURCE_EXHAUSTED", async () => {
    const handle = await h.unix.sessions.create({ config: { maxContainers: 2 } });
    await h.unix.containers.create(handle.id, { image: "alpine" });
    await h.unix.containers.create(handle.id, { image: "alpine" });
    await rejectsWith(h.unix.containers.create(handle.id, { image: "alpine" }), ResourceExhaustedError);
  });

  it("enforces allowed_images with PERMISSION_DENIED (tags and repositories)", async () => {
    const handle = await h.unix.sessions.create({ config: { allowedImages: ["python:3.11", "alpine"] } });
    await h.unix.containers.create(handle.id, { image: "python:3.11" });
    await h.unix.containers.create(handle.id, { image: "alpine:3.19" });
    await rejectsWith(h.unix.containers.create(handle.id, { image: "python:3.12" }), PermissionDeniedError);
    await rejectsWith(h.unix.containers.create(handle.id, { image: "ubuntu" }), PermissionDeniedError);
  });

  it("honours the session's resource limits", async () => {
    const handle = await h.unix.sessions.create({
      config: { resourceLimits: { nanoCpus: 1_000_000_000n, memoryBytes: 1024n * 1024n * 1024n } },
    });
    const a = await h.unix.containers.create(handle.id, { image: "a", resources: { nanoCpus: 600_000_000n } });
    await rejectsWith(
      h.unix.containers.create(handle.id, { image: "b", resources: { nanoCpus: 500_000_000n } }),
      ResourceExhaustedError,
    );
    await a.stop({ timeoutMs: 100 });
    // A stopped container no longer holds its share.
    await h.unix.containers.create(handle.id, { image: "b", resources: { nanoCpus: 500_000_000n } });
    await rejectsWith(
      h.unix.containers.create(handle.id, { image: "c", resources: { memoryBytes: 2n * 1024n * 1024n * 1024n } }),
      ResourceExhaustedError,
    );
  });

  it("refuses bad configs, closed sessions and unknown containers", async () => {
    const handle = await h.unix.sessions.create();
    await rejectsWith(h.unix.containers.create(handle.id, { image: "" }), InvalidArgumentError);
    await rejectsWith(h.unix.containers.create("nope", { image: "a" }), NotFoundError);
    await rejectsWith(h.unix.containers.stop("nope"), NotFoundError);
    const c = await h.unix.containers.create(handle.id, { image: "a" });
    await handle.close();
    expect((await h.unix.containers.get(c.id)).state).toBe(ContainerState.EXITED);
    await rejectsWith(h.unix.containers.create(handle.id, { image: "a" }), FailedPreconditionError);
  });

  it("removes containers with remove_on_stop when they stop, and force-removes running ones", async () => {
    const handle = await h.unix.sessions.create();
    const a = await h.unix.containers.create(handle.id, { image: "a", removeOnStop: true });
    await h.unix.containers.stop(a.id);
    await rejectsWith(h.unix.containers.get(a.id), NotFoundError);
    const b = await h.unix.containers.create(handle.id, { image: "b" });
    await h.unix.containers.remove(b.id, { force: true });
    await rejectsWith(h.unix.containers.get(b.id), NotFoundError);
  });
});

describe("containers (process runtime)", () => {
  it("runs the command with args in its working directory and environment, and reports the exit", async () => {
    const handle = await p.unix.sessions.create();
    const exited = p.unix.events.subscribe({ sessionId: handle.id, type: "CONTAINER_STOPPED", since: 0 });
    const c = await p.unix.containers.create(handle.id, {
      image: "local",
      command: ["sh", "-c"],
      args: ['echo "$GREETING" > out.txt; pwd >> out.txt; exit 3'],
      workingDir: p.dir,
      env: { GREETING: "hello from baaaht" },
    });
    const [ev] = await take(exited, 1);
    expect(ev?.data.exit_code).toBe("3");
    const after = await p.unix.containers.get(c.id);
    expect(after.state).toBe(ContainerState.EXITED);
    expect(after.exitCode).toBe(3);
    expect(readFileSync(join(p.dir, "out.txt"), "utf8")).toBe(`hello from baaaht\n${p.dir}\n`);
    let runtime: string | null = null;
    await p.unix.raw.orchestrator.getStatus({}, { onHeader: (hd) => (runtime = hd.get("baaaht-container-runtime")) });
    expect(runtime).toBe("process");
  });

  it("stop sends SIGTERM", async () => {
    const handle = await p.unix.sessions.create();
    const stoppedEvents = p.unix.events.subscribe({ sessionId: handle.id, type: "CONTAINER_STOPPED", since: 0 });
    const c = await p.unix.containers.create(handle.id, { image: "local", command: ["sleep", "30"] });
    expect(await c.stop({ timeoutMs: 5000 })).toBe(ContainerState.EXITED);
    expect((await p.unix.containers.get(c.id)).exitCode).toBe(143);
    const [ev] = await take(stoppedEvents, 1);
    expect(ev?.data).toMatchObject({ reason: "stopped by client", signal: "SIGTERM", exit_code: "143" });
  });

  it("stop sends SIGKILL after the timeout when SIGTERM is ignored", async () => {
    const handle = await p.unix.sessions.create();
    // RUNNING means spawned, not that the shell has installed its trap yet:
    // wait for the shell to say so, or SIGTERM can land first and kill it.
    const ready = join(p.dir, `trap-ready-${handle.id}`);
    const c = await p.unix.containers.create(handle.id, {
      image: "local",
      command: ["sh", "-c", `trap "" TERM; : > "${ready}"; exec sleep 30`],
    });
    await until(async () => existsSync(ready));
    expect((await p.unix.containers.get(c.id)).state).toBe(ContainerState.RUNNING);
    const stopped = p.unix.events.subscribe({ containerId: c.id, type: "CONTAINER_STOPPED" });
    const ev = take(stopped, 1);
    await c.stop({ timeoutMs: 200 });
    expect((await c.get()).exitCode).toBe(137);
    // SIGTERM was ignored, so it took SIGKILL (the event says which signal ended it).
    expect((await ev)[0]?.data).toMatchObject({ signal: "SIGKILL", exit_code: "137" });
  });

  it("reports a command that cannot start as an error", async () => {
    const handle = await p.unix.sessions.create();
    const errors = p.unix.events.subscribe({ sessionId: handle.id, type: "CONTAINER_ERROR", since: 0 });
    const c = await p.unix.containers.create(handle.id, { image: "local", command: ["/definitely/not/here"] });
    const [ev] = await take(errors, 1);
    expect(ev?.data.error).toMatch(/ENOENT/);
    expect((await p.unix.containers.get(c.id)).exitCode).toBe(-1);
  });
});

describe("process runtime cleanup", () => {
  it("kills running containers when the server closes", async () => {
    const q = await startHarness({ "baaaht.containerRuntime": "process" });
    const handle = await q.unix.sessions.create();
    await q.unix.containers.create(handle.id, {
      image: "local",
      command: ["sh", "-c", "echo $$ > pid; exec sleep 30"],
      workingDir: q.dir,
    });
    const pidFile = join(q.dir, "pid");
    await until(() => {
      try {
        return readFileSync(pidFile, "utf8").trim() !== "";
      } catch {
        return false;
      }
    });
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect(() => process.kill(pid, 0)).not.toThrow();
    await q.server.close();
    expect(() => process.kill(pid, 0)).toThrow();
    await q.close();
  });
});
