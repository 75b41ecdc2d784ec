import { spawn } from "node:child_process";
import type { ContainerConfig } from "@baton/wire/baaaht";
import { ContainerConfigSchema } from "@baton/wire/baaaht";
import { create } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type ContainerExit, ProcessRuntime, RecordRuntime } from "./runtime.js";

const config = (command: string[]): ContainerConfig => create(ContainerConfigSchema, { image: "x", command });
const exitOf = (start: (onExit: (e: ContainerExit) => void) => void) =>
  new Promise<ContainerExit>((resolve) => start(resolve));

/** A spawn that fails like a machine out of file descriptors, as often as asked, then spawns for real. */
function exhaustedSpawn(failures: number): typeof spawn {
  let left = failures;
  return ((...args: Parameters<typeof spawn>) => {
    if (left-- > 0) throw Object.assign(new Error("spawn EMFILE"), { code: "EMFILE" });
    return spawn(...args);
  }) as typeof spawn;
}

describe("ProcessRuntime health", () => {
  it("is unavailable after a spawn fails for want of system resources, available again once one succeeds", async () => {
    const rt = new ProcessRuntime({ spawn: exhaustedSpawn(1) });
    expect(rt.health()).toEqual({ available: true, detail: "0 processes running" });
    const failed = await exitOf((onExit) => rt.start("c1", config([process.execPath, "-e", ""]), onExit));
    expect(failed).toMatchObject({ exitCode: -1, error: "Error: spawn EMFILE" });
    expect(rt.health()).toEqual({ available: false, detail: "cannot start processes: spawn EMFILE" });
    const ok = await exitOf((onExit) => rt.start("c2", config([process.execPath, "-e", ""]), onExit));
    expect(ok).toEqual({ exitCode: 0, signal: undefined, error: undefined });
    expect(rt.health().available).toBe(true);
    await rt.close();
  });

  it("a container whose command does not exist leaves the runtime available", async () => {
    const rt = new ProcessRuntime();
    const exit = await exitOf((onExit) => rt.start("c1", config(["/nonexistent/command-of-no-one"]), onExit));
    expect(exit.exitCode).toBe(-1);
    expect(exit.error).toMatch(/ENOENT/);
    expect(rt.health().available).toBe(true);
    await rt.close();
  });

  it("starts nothing once closed, and says so", async () => {
    const rt = new ProcessRuntime();
    await rt.close();
    expect(rt.health()).toEqual({ available: false, detail: "closed" });
    const exit = await exitOf((onExit) => rt.start("c1", config([process.execPath, "-e", ""]), onExit));
    expect(exit).toMatchObject({ exitCode: -1, error: "the container runtime is closed" });
  });
});

describe("RecordRuntime health", () => {
  it("counts what it records as running, and is unavailable once closed", async () => {
    const rt = new RecordRuntime();
    const never = () => {
      throw new Error("a recorded container never exits by itself");
    };
    rt.start("a", config([]), never);
    rt.start("b", config([]), never);
    expect(rt.health()).toEqual({ available: true, detail: "2 containers recorded as running" });
    await rt.stop("a");
    expect(rt.health().detail).toBe("1 containers recorded as running");
    await rt.close();
    expect(rt.health()).toEqual({ available: false, detail: "closed" });
  });
});

describe("ProcessRuntime stop timeouts", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("waits a stop timeout past 2^31-1 ms before SIGKILL (Node's own timer would fire after 1 ms)", async () => {
    const signals: string[] = [];
    // A child that records the signals it is sent and only acts on SIGKILL (SIGTERM ignored).
    const spying = ((...args: Parameters<typeof spawn>) => {
      const child = spawn(...args);
      const kill = child.kill.bind(child);
      child.kill = (signal?: NodeJS.Signals | number) => {
        signals.push(String(signal));
        return signal === "SIGKILL" ? kill(signal) : true;
      };
      return child;
    }) as typeof spawn;
    const rt = new ProcessRuntime({ spawn: spying });
    const exited = exitOf((onExit) =>
      rt.start("c", config([process.execPath, "-e", "setInterval(() => {}, 1000)"]), onExit),
    );
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const stopping = rt.stop("c", 2 ** 31);
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(signals).toEqual(["SIGTERM"]);
    vi.advanceTimersByTime(1);
    expect(signals).toEqual(["SIGTERM", "SIGKILL"]);
    vi.useRealTimers();
    await expect(stopping).resolves.toMatchObject({ signal: "SIGKILL" });
    await exited;
    await rt.close();
  });
});
