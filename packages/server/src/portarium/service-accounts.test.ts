import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor } from "./paging.js";
import { parseServiceAccounts } from "./service-accounts.js";

describe("service accounts and cursors", () => {
  it("parses ID:SECRET:WS[,WS] lines", () => {
    expect(parseServiceAccounts("a:b:ws1,ws2\n\nc:d:e:ws3")).toEqual([
      { clientId: "a", clientSecret: "b", workspaces: ["ws1", "ws2"] },
      { clientId: "c", clientSecret: "d:e", workspaces: ["ws3"] },
    ]);
    expect(() => parseServiceAccounts("nonsense")).toThrow();
  });

  it("cursors are opaque, bound to their list, and refused otherwise", () => {
    const c = encodeCursor("runs", 42);
    expect(decodeCursor("runs", c)).toBe(42);
    expect(() => decodeCursor("approvals", c)).toThrow("is not a cursor this list returned");
    expect(() => decodeCursor("runs", "garbage")).toThrow("is not a cursor this list returned");
    expect(decodeCursor("runs", undefined)).toBeUndefined();
  });
});
