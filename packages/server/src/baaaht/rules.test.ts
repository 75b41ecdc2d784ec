import { EventFilterSchema, EventSchema, EventType, Priority, TaskType } from "@baton/wire/baaaht";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { matchesEvent } from "./event-filters.js";
import { imageAllowed } from "./image-policy.js";
import { SeqLog } from "./log.js";
import { supportsTask, taskTypeName } from "./task-types.js";
import { nsToMs } from "./time.js";

describe("baaaht rules", () => {
  it("matches images exactly, by repository for untagged entries, or with *", () => {
    expect(imageAllowed("python:3.11", ["python:3.11"])).toBe(true);
    expect(imageAllowed("python:3.12", ["python:3.11"])).toBe(false);
    expect(imageAllowed("alpine:3.19", ["alpine"])).toBe(true);
    expect(imageAllowed("registry:5000/team/app:1", ["registry:5000/team/app"])).toBe(true);
    expect(imageAllowed("anything", ["*"])).toBe(true);
    expect(imageAllowed("ubuntu", ["alpine"])).toBe(false);
  });

  it("applies every field of an EventFilter", () => {
    const ev = create(EventSchema, {
      id: "e1",
      type: EventType.CONTAINER_CREATED,
      source: "container-runtime",
      timestamp: timestampFromMs(1000),
      metadata: { sessionId: "s", containerId: "c", priority: Priority.HIGH, labels: { a: "1", b: "2" } },
    });
    const f = (init: Parameters<typeof create<typeof EventFilterSchema>>[1]) => create(EventFilterSchema, init);
    expect(matchesEvent(ev, f({}))).toBe(true);
    expect(matchesEvent(ev, f({ type: EventType.CONTAINER_STOPPED }))).toBe(false);
    expect(matchesEvent(ev, f({ source: "orchestrator" }))).toBe(false);
    expect(matchesEvent(ev, f({ sessionId: "other" }))).toBe(false);
    expect(matchesEvent(ev, f({ containerId: "c", priority: Priority.HIGH, labels: { a: "1" } }))).toBe(true);
    expect(matchesEvent(ev, f({ priority: Priority.LOW }))).toBe(false);
    expect(matchesEvent(ev, f({ labels: { a: "2" } }))).toBe(false);
    expect(matchesEvent(ev, f({ startTime: timestampFromMs(1001) }))).toBe(false);
    expect(matchesEvent(ev, f({ endTime: timestampFromMs(999) }))).toBe(false);
    expect(matchesEvent(ev, f({ startTime: timestampFromMs(1000), endTime: timestampFromMs(1000) }))).toBe(true);
  });

  it("names task types the way agents list them", () => {
    expect(taskTypeName(TaskType.CODE_EXECUTION)).toBe("code-execution");
    expect(supportsTask(["code-execution"], TaskType.CODE_EXECUTION)).toBe(true);
    expect(supportsTask(["CODE_EXECUTION"], TaskType.CODE_EXECUTION)).toBe(true);
    expect(supportsTask(["file-operation"], TaskType.CODE_EXECUTION)).toBe(false);
    expect(supportsTask(["*"], TaskType.CUSTOM)).toBe(true);
  });

  it("converts ns to ms rounding up", () => {
    expect(nsToMs(0n)).toBe(0);
    expect(nsToMs(1n)).toBe(1);
    expect(nsToMs(3_600_000_000_000n)).toBe(3_600_000);
  });

  it("SeqLog replays, follows, is bounded and ends on close", async () => {
    const log = new SeqLog<string>(3);
    for (const s of ["a", "b", "c", "d"]) log.append(s);
    expect(log.all()).toEqual(["b", "c", "d"]);
    expect(log.since(2).map((e) => e.item)).toEqual(["c", "d"]);
    const ac = new AbortController();
    const follower = log.follow(3, ac.signal);
    expect(await follower.next()).toEqual({ done: false, value: { seq: 4, item: "d" } });
    expect(log.followers).toBe(1);
    // Nothing is logged yet: the follower waits, and the next append wakes it.
    const waiting = follower.next();
    log.append("e");
    expect(await waiting).toEqual({ done: false, value: { seq: 5, item: "e" } });
    const ending = follower.next();
    log.close();
    expect(await ending).toEqual({ done: true, value: undefined });
    expect(log.followers).toBe(0);
  });

  it("SeqLog.follow ends when its signal aborts", async () => {
    const log = new SeqLog<string>();
    const ac = new AbortController();
    const follower = log.follow(0, ac.signal);
    const waiting = follower.next();
    ac.abort();
    expect(await waiting).toEqual({ done: true, value: undefined });
  });
});
