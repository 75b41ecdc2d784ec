import { defaultPathSerializer } from "openapi-fetch";
import { describe, expect, it } from "vitest";
import { templatePathSerializer } from "./json-calls.js";

describe("templatePathSerializer", () => {
  it("makes the URLs openapi-fetch's defaultPathSerializer makes, for every kind of parameter and value", () => {
    const serialize = templatePathSerializer();
    const base = "http://127.0.0.1:8080/api";
    const paths = [
      "/v1/workspaces/{workspaceId}/runs/{runId}",
      "/v1/workspaces/{workspaceId}/runs/{runId}/cancel",
      "/v1/workspaces/{workspaceId}",
      "/v1/health",
      "/a/{x}/b/{x}/c", // a name twice
      "/a/{x}{y}", // two with nothing between
      "/a/{.x}/b/{;y}/c/{z*}", // label, matrix and exploded: openapi-fetch's own
    ];
    const values: Array<Record<string, unknown>> = [
      { workspaceId: "ws-a", runId: "r-1", x: "1", y: "2", z: "3" },
      { workspaceId: "ws a/?#&", runId: "r/1 ?", x: "$&$1$$", y: "é🙂", z: "a,b" },
      { workspaceId: 42, runId: true, x: 0, y: false },
      { workspaceId: undefined, runId: null, x: "" },
      { workspaceId: ["a", "b"], runId: { k: "v" }, x: ["1"], z: ["p", "q"] },
      {},
    ];
    for (const path of paths)
      for (const params of values) {
        const url = `${base}${path}`;
        // Twice: the second call takes the template made by the first.
        for (let i = 0; i < 2; i++) expect(serialize(url, params)).toBe(defaultPathSerializer(url, params));
      }
  });
});
