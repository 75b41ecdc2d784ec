import { describe, expect, it } from "vitest";
import { Output, Progress } from "./output.js";

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (t: string) => writes.push(t) } };
}

describe("Progress", () => {
  it("draws nothing when stderr is not a terminal", () => {
    const err = sink(false);
    const p = new Progress(err.stream);
    p.update("waiting");
    p.clear();
    p.stop();
    expect(p.enabled).toBe(false);
    expect(err.writes).toEqual([]);
  });

  it("on a terminal, redraws one line in place with the time waited and erases it when stopped", () => {
    const err = sink(true);
    let now = 1_000;
    const p = new Progress(err.stream, true, () => now);
    p.update("waiting for t-1");
    now += 3_000;
    p.update("still waiting");
    p.stop();
    const erase = "\r\x1b[2K";
    expect(err.writes[0]?.startsWith(erase)).toBe(true);
    expect(err.writes[0]?.endsWith(" waiting for t-1 (0s)")).toBe(true);
    expect(err.writes[1]?.startsWith(erase)).toBe(true);
    expect(err.writes[1]?.endsWith(" still waiting (3s)")).toBe(true);
    expect(err.writes.at(-1)).toBe("\r\x1b[2K");
    expect(err.writes.every((w) => !w.includes("\n"))).toBe(true);
  });
});

describe("Output", () => {
  const cols = [{ header: "id", path: "id" }];

  it("json: one document for results and lists, one line per stream item", () => {
    const out = sink(false);
    const o = new Output("json", out.stream, new Progress(sink(false).stream), cols);
    o.one({ a: 1 });
    o.list([{ id: 1 }]);
    o.item({ id: 2 });
    expect(JSON.parse(out.writes[0] ?? "")).toEqual({ a: 1 });
    expect(JSON.parse(out.writes[1] ?? "")).toEqual([{ id: 1 }]);
    expect(out.writes[2]).toBe('{"id":2}\n');
  });

  it("table: erases the progress line before printing a row", () => {
    const out = sink(true);
    const err = sink(true);
    const p = new Progress(err.stream, true);
    const o = new Output("table", out.stream, p, cols);
    p.update("following");
    o.item({ id: 7 });
    p.stop();
    expect(out.writes).toEqual(["7\n"]);
    expect(err.writes[1]).toBe("\r\x1b[2K");
  });
});
