import { ProtocolError } from "@baton/core";
import { describe, expect, it } from "vitest";
import { MAX_SSE_EVENT_CHARS, parseServerSentEvents } from "./sse.js";

async function* chunks(...parts: (string | Uint8Array)[]): AsyncGenerator<Uint8Array> {
  const enc = new TextEncoder();
  for (const p of parts) yield typeof p === "string" ? enc.encode(p) : p;
}
const all = async (parts: (string | Uint8Array)[]) => {
  const out = [];
  for await (const e of parseServerSentEvents(chunks(...parts))) out.push(e);
  return out;
};

describe("parseServerSentEvents", () => {
  it("reads ids, event names and data, ignoring comments", async () => {
    expect(await all([': hello\n\nid: 1\nevent: progress\ndata: {"a":1}\n\nid: 2\ndata: x\n\n'])).toEqual([
      { id: "1", event: "progress", data: '{"a":1}' },
      { id: "2", event: "message", data: "x" },
    ]);
  });

  it("does not care where chunks split, even inside a character or a CRLF", async () => {
    const text = "id: 7\r\ndata: héllo\r\ndata: wörld\r\n\r\n";
    const bytes = new TextEncoder().encode(text);
    for (let cut = 1; cut < bytes.length; cut++) {
      const events = await all([bytes.slice(0, cut), bytes.slice(cut)]);
      expect(events, `cut at ${cut}`).toEqual([{ id: "7", event: "message", data: "héllo\nwörld" }]);
    }
  });

  it("accepts CR line ends and fields without a space or value", async () => {
    expect(await all(["id:3\rdata\rdata:b\r\r"])).toEqual([{ id: "3", event: "message", data: "\nb" }]);
  });

  it("drops an unfinished event and events without data", async () => {
    expect(await all(["id: 1\nevent: ping\n\ndata: half"])).toEqual([]);
  });

  it("refuses an event that never ends", async () => {
    const big = `data: ${"x".repeat(MAX_SSE_EVENT_CHARS)}`;
    await expect(all([big])).rejects.toThrow(ProtocolError);
    await expect(all([`${big}\n`])).rejects.toThrow(ProtocolError);
  });
});
