// The request size limit's configuration. What a client sees when a message is refused
// (RESOURCE_EXHAUSTED, not a budget error, over every protocol) is tested with the ORCA
// client in packages/orca/test/limits.test.ts: the server's tests use no client package.
import { parseCli, startServer } from "@baton/server";
import { describe, expect, it } from "vitest";

describe("request message size limit", () => {
  it("rejects an invalid limit", async () => {
    await expect(startServer({ listen: ["127.0.0.1:0"], maxReceiveMessageBytes: 0 })).rejects.toThrow(
      /maxReceiveMessageBytes/,
    );
    await expect(startServer({ listen: ["127.0.0.1:0"], maxReceiveMessageBytes: 1.5 })).rejects.toThrow(
      /maxReceiveMessageBytes/,
    );
  });

  it("is set by --max-message-bytes", () => {
    expect(parseCli(["--max-message-bytes", "1024"]).maxReceiveMessageBytes).toBe(1024);
    expect(parseCli([]).maxReceiveMessageBytes).toBeUndefined();
    expect(() => parseCli(["--max-message-bytes", "ten"])).toThrow(/--max-message-bytes/);
    expect(() => parseCli(["--max-message-bytes", "0"])).toThrow(/--max-message-bytes/);
  });
});
