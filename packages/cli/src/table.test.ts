import { describe, expect, it } from "vitest";
import { cellText, flatten, renderRecord, renderStreamRow, renderTable, valueAt } from "./table.js";

const cols = [
  { header: "id", path: "id" },
  { header: "name", path: "metadata.name" },
  { header: "state", path: "state" },
];

describe("renderTable (what a terminal shows for lists)", () => {
  it("aligns columns two spaces apart under capitalised headers, with no trailing spaces", () => {
    const out = renderTable(
      [
        { id: "sess-1", metadata: { name: "demo" }, state: "ACTIVE" },
        { id: "s-2", metadata: { name: "a-much-longer-name" }, state: "CLOSED" },
      ],
      cols,
    );
    expect(out).toBe(
      "ID      NAME                STATE\n" +
        "sess-1  demo                ACTIVE\n" +
        "s-2     a-much-longer-name  CLOSED\n",
    );
  });

  it("prints the header alone for no rows, and empty cells for missing values", () => {
    expect(renderTable([], cols)).toBe("ID  NAME  STATE\n");
    expect(renderTable([{ id: "x" }], cols)).toBe("ID  NAME  STATE\nx\n");
  });

  it("shows objects as compact JSON, cuts long cells with …, and keeps every row on one line", () => {
    const out = renderTable([{ id: "a\nb\u001b[31m", metadata: { name: "x".repeat(100) }, state: { n: 1 } }], cols, {
      maxCellWidth: 10,
    });
    const [, row] = out.split("\n");
    expect(out.split("\n")).toHaveLength(3);
    expect(row).toBe(`a b [31m  ${"x".repeat(9)}…  {"n":1}`);
    expect(row).not.toContain("\u001b");
  });

  it("measures width in characters, so non-ASCII text stays aligned", () => {
    const out = renderTable([{ id: "é", metadata: { name: "ü" }, state: "s" }, { id: "abc" }], cols);
    expect(out.split("\n")[1]).toBe("é    ü     s");
  });
});

describe("renderRecord and renderStreamRow", () => {
  it("prints an object's leaves as dotted keys and values", () => {
    const k = (key: string) => key.padEnd("budget.used.tokens".length);
    expect(renderRecord({ id: "r-1", budget: { used: { tokens: 3 }, limits: {} }, tags: ["a"] })).toBe(
      `${k("id")}  r-1\n${k("budget.used.tokens")}  3\n${k("budget.limits")}  {}\n${k("tags")}  ["a"]\n`,
    );
    expect(renderRecord("plain")).toBe("plain\n");
  });

  it("prints one stream item as its cells", () => {
    expect(renderStreamRow({ id: 3, metadata: { name: "n" }, state: "S" }, cols)).toBe("3  n  S\n");
  });

  it("helpers: valueAt follows dotted paths, cellText stringifies, flatten lists leaves", () => {
    expect(valueAt({ a: { b: 1 } }, "a.b")).toBe(1);
    expect(valueAt({ a: 1 }, "a.b")).toBeUndefined();
    expect(cellText(undefined)).toBe("");
    expect(cellText(12n)).toBe("12");
    expect(flatten({ a: { b: 1, c: [2] } })).toEqual([
      ["a.b", 1],
      ["a.c", [2]],
    ]);
  });
});
