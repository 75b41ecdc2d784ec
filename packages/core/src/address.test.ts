import { describe, expect, it } from "vitest";
import { parseAddress } from "./address.js";
import { InvalidArgumentError } from "./errors.js";

describe("parseAddress", () => {
  it("reads host:port as plaintext", () => {
    expect(parseAddress("localhost:50051")).toMatchObject({
      baseUrl: "http://localhost:50051",
      secure: false,
      host: "localhost",
      port: 50051,
    });
  });
  it("reads http and https URLs", () => {
    expect(parseAddress("https://orca.example:8443")).toMatchObject({ secure: true, host: "orca.example", port: 8443 });
    expect(parseAddress("http://127.0.0.1:1/")).toMatchObject({ baseUrl: "http://127.0.0.1:1", secure: false });
    expect(parseAddress("https://[::1]:9")).toMatchObject({ host: "::1", port: 9 });
  });
  it("makes host:port secure when TLS is asked for", () => {
    expect(parseAddress("orca:8443", { secure: true })).toMatchObject({ baseUrl: "https://orca:8443", secure: true });
    // The default port is implied by the scheme (the dialer uses 443).
    expect(parseAddress("orca:443", { secure: true })).toMatchObject({ baseUrl: "https://orca", port: undefined });
  });
  it("reads the unix forms gRPC accepts", () => {
    for (const a of ["unix:///tmp/x.sock", "unix:/tmp/x.sock"]) {
      expect(parseAddress(a)).toMatchObject({
        socketPath: "/tmp/x.sock",
        host: "localhost",
        baseUrl: "http://localhost",
      });
    }
    expect(parseAddress("unix:rel.sock").socketPath).toBe("rel.sock");
  });
  it("refuses what it cannot dial", () => {
    for (const a of ["unix://", "ftp://x:1", "http://", "::::"]) {
      expect(() => parseAddress(a), a).toThrow(InvalidArgumentError);
    }
  });
});
