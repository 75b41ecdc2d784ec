/**
 * Stratavore over mutual TLS: `baton-server --tls-cert --tls-key --tls-client-ca` serves a
 * client presenting a certificate from that CA (unary calls and the event stream) and
 * refuses one without a certificate or with a certificate from another CA.
 */
import { EventType, RunnerStatus, StratavoreClient, UnavailableError } from "@baton/stratavore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makePki, type TestPki } from "../../../test/support/tls.js";
import { type BinServer, startBin, tempDir } from "./support.js";

let tmp: ReturnType<typeof tempDir>;
let pki: TestPki;
let server: BinServer;
let address: string;
beforeAll(async () => {
  tmp = tempDir();
  pki = makePki(tmp.dir);
  server = await startBin([
    "--listen",
    "127.0.0.1:0",
    "--tls-cert",
    pki.files.serverCert,
    "--tls-key",
    pki.files.serverKey,
    "--tls-client-ca",
    pki.files.ca,
    "--quiet",
  ]);
  address = (server.addresses[0] as string).replace(/^https?:\/\//, "");
});
afterAll(async () => {
  await server?.stop();
  tmp?.cleanup();
});

const client = (tls: { ca: Buffer; cert?: Buffer; key?: Buffer }) =>
  new StratavoreClient({ address: `localhost:${address.split(":").at(-1)}`, tls, retry: false });

describe("stratavore over mutual TLS (baton-server --tls-client-ca)", () => {
  it("serves a client certificate signed by the client CA: unary calls and the event stream", async () => {
    await using sv = client({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });
    await sv.projects.create({ name: "mtls" });
    const { runner, handle } = await sv.runners.create({ projectName: "mtls", metadata: { via: "mtls" } });
    await handle.waitFor(RunnerStatus.RUNNING);
    await handle.stop();
    const types: EventType[] = [];
    for await (const e of sv.runners.events({ runnerId: runner.id, fromStart: true })) {
      types.push(e.type);
      if (e.type === EventType.RUNNER_STOPPED) break;
    }
    expect(types).toEqual([
      EventType.RUNNER_CREATED,
      EventType.RUNNER_STARTED,
      EventType.RUNNER_STOPPING,
      EventType.RUNNER_STOPPED,
    ]);
    expect((await sv.daemon.status()).daemonStatus?.activeRunners).toBe(0);
  });

  it("refuses a client without a certificate, or with one from another CA, before any call is served", async () => {
    await using anonymous = client({ ca: pki.ca });
    await expect(anonymous.projects.create({ name: "anonymous" })).rejects.toBeInstanceOf(UnavailableError);
    await using rogue = client({ ca: pki.ca, cert: pki.rogueCert, key: pki.rogueKey });
    await expect(rogue.projects.create({ name: "rogue" })).rejects.toBeInstanceOf(UnavailableError);
    const events = anonymous.runners.events({ fromStart: true, maxReconnects: 1 });
    await expect(events[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(UnavailableError);

    await using trusted = client({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });
    const names = (await trusted.projects.list().toArray()).map((p) => p.name);
    expect(names).not.toContain("anonymous");
    expect(names).not.toContain("rogue");
  });
});
