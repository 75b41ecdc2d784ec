// Every accepted TCP connection has Nagle's algorithm off, so a small write that follows an
// unacknowledged one (a gRPC-Web trailer frame, a stream message) is not held back until
// the client's delayed ACK.
import * as net from "node:net";
import { startServer } from "@baton/server";
import { afterEach, describe, expect, it, vi } from "vitest";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("server sockets", () => {
  it("turns Nagle's algorithm off on every accepted TCP connection", async () => {
    const calls: { port: number | undefined; noDelay: boolean | undefined }[] = [];
    const original = net.Socket.prototype.setNoDelay;
    vi.spyOn(net.Socket.prototype, "setNoDelay").mockImplementation(function (this: net.Socket, noDelay?: boolean) {
      calls.push({ port: this.remotePort, noDelay });
      return original.call(this, noDelay);
    });
    const server = await startServer({ listen: ["127.0.0.1:0"] });
    const [host, port] = (server.addresses[0] as string).split(":") as [string, string];
    const client = net.connect(Number(port), host);
    try {
      await new Promise<void>((resolve, reject) => {
        client.once("connect", resolve);
        client.once("error", reject);
      });
      // The server sees the connection on its next turns of the event loop (bounded wait).
      for (let i = 0; i < 200 && server.stats().connections === 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(server.stats().connections).toBe(1);
      // The raw client never calls setNoDelay itself: the call on its port is the server's.
      expect(calls).toContainEqual({ port: client.localPort, noDelay: true });
    } finally {
      client.destroy();
      await server.close();
    }
  });
});
