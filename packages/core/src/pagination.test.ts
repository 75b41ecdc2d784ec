import { describe, expect, it } from "vitest";
import { type Page, PagedList } from "./pagination.js";

const pages: Record<string, Page<number>> = {
  start: { items: [1, 2], nextCursor: "b" },
  b: { items: [3, 4], nextCursor: "c" },
  c: { items: [5] },
};
const fetcher = (calls: Array<string | undefined>) => async (cursor: string | undefined) => {
  calls.push(cursor);
  return pages[cursor ?? "start"] as Page<number>;
};

describe("PagedList", () => {
  it("awaits to the first page and iterates every item", async () => {
    const calls: Array<string | undefined> = [];
    const list = new PagedList(fetcher(calls));
    expect((await list).items).toEqual([1, 2]);
    expect(calls).toEqual([undefined]);
    const all: number[] = [];
    for await (const n of list) all.push(n);
    expect(all).toEqual([1, 2, 3, 4, 5]);
    expect(await new PagedList(fetcher([]), "b").toArray()).toEqual([3, 4, 5]);
    expect(await new PagedList(fetcher([])).toArray(3)).toEqual([1, 2, 3]);
  });
  it("yields pages and detects cursor loops", async () => {
    const sizes: number[] = [];
    for await (const p of new PagedList(fetcher([])).pages()) sizes.push(p.items.length);
    expect(sizes).toEqual([2, 2, 1]);
    const loop = new PagedList(async () => ({ items: [1], nextCursor: "same" }));
    await expect(loop.toArray()).rejects.toThrow(/pagination loop/);
  });
});

describe("PagedList as a Promise", () => {
  it("has catch and finally, and turns a synchronous throw into a rejection", async () => {
    const boom = new PagedList<number>(() => {
      throw new Error("sync boom");
    });
    let finallyRan = false;
    const caught = await boom
      .finally(() => {
        finallyRan = true;
      })
      .catch((e: unknown) => (e as Error).message);
    expect(caught).toBe("sync boom");
    expect(finallyRan).toBe(true);
    expect(await boom.catch(() => "handled")).toBe("handled");
    expect(Object.prototype.toString.call(boom)).toBe("[object PagedList]");
  });

  it("wraps a list the server does not page as a single page", async () => {
    let calls = 0;
    const list = PagedList.single(async () => {
      calls++;
      return ["a", "b"];
    });
    expect((await list).items).toEqual(["a", "b"]);
    expect((await list).nextCursor).toBeUndefined();
    expect(await list.toArray()).toEqual(["a", "b"]);
    const pages: number[] = [];
    for await (const p of list.pages()) pages.push(p.items.length);
    expect(pages).toEqual([2]);
    expect(calls).toBe(3);
  });
});
