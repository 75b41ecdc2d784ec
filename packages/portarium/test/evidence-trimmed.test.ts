// A server keeps a bounded evidence log per workspace (portarium.maxEvidencePerWorkspace):
// once it drops its oldest entries, verifyChain still verifies what is kept, says where the
// kept log starts, and checks that start against a hash the caller saved.
import { type PortariumClient, verifyEvidenceChain } from "@baton/portarium";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoClient, startPortarium, type TestServer, workflowBody } from "./support.js";

describe("evidence.verifyChain on a trimmed log", () => {
  let t: TestServer;
  let portarium: PortariumClient;
  beforeAll(async () => {
    t = await startPortarium({ "portarium.maxEvidencePerWorkspace": "3" });
    portarium = demoClient(t.address);
  });
  afterAll(async () => {
    await portarium.close();
    await t.server.close();
  });

  it("verifies the entries kept, reports startsAfter, and checks a saved previousHash", async () => {
    const wf = await portarium.workflows.create(workflowBody("Auto"));
    // Every entry ever seen, by hash, as a caller that verifies after each change keeps them.
    const seen = new Map<string, string>();
    for (let i = 0; i < 4; i++) {
      await portarium.runs.start({ workflowId: wf.workflowId });
      for (const e of await portarium.evidence.list().toArray()) seen.set(e.hashSha256, e.evidenceId);
    }
    const kept = await portarium.evidence.list().toArray();
    expect(kept).toHaveLength(3);
    const oldestLink = kept[0]?.previousHash;
    expect(oldestLink).toMatch(/.+/);
    // Without the caller's anchor the chain alone cannot start at genesis: the bare check fails.
    expect(verifyEvidenceChain(kept)?.index).toBe(0);

    const verdict = await portarium.evidence.verifyChain();
    expect(verdict).toEqual({ entries: 3, problem: undefined, startsAfter: oldestLink });

    // The dropped entry's hash, as a caller that verified earlier would have saved it.
    expect(seen.has(oldestLink as string)).toBe(true);
    expect(kept.some((e) => e.hashSha256 === oldestLink)).toBe(false);
    expect(await portarium.evidence.verifyChain({ previousHash: oldestLink as string })).toEqual({
      entries: 3,
      problem: undefined,
    });
    // A saved hash the kept log does not link to is a break at the oldest entry.
    const wrong = await portarium.evidence.verifyChain({ previousHash: kept[2]?.hashSha256 as string });
    expect(wrong.problem).toMatchObject({ index: 0, evidenceId: kept[0]?.evidenceId });
  });
});
