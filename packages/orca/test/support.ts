import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A temp directory removed by the returned cleanup. */
export function tempDir(prefix = "baton-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** PEM material for TLS tests: a CA, a server cert for localhost/127.0.0.1, a client cert. */
export interface TestPki {
  ca: Buffer;
  serverCert: Buffer;
  serverKey: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
  /** A client certificate signed by a different CA (must be refused by mutual TLS). */
  rogueCert: Buffer;
  rogueKey: Buffer;
  files: { ca: string; serverCert: string; serverKey: string };
}

/** Makes a throwaway PKI with openssl, at test time. */
export function makePki(dir: string): TestPki {
  const o = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const ext = join(dir, "server.ext");
  writeFileSync(ext, "subjectAltName=DNS:localhost,DNS:orca.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  const cext = join(dir, "client.ext");
  writeFileSync(cext, "extendedKeyUsage=clientAuth\n");
  for (const ca of ["ca", "rogue-ca"]) {
    o(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      `/CN=${ca}`,
      "-keyout",
      `${ca}.key`,
      "-out",
      `${ca}.pem`,
    );
  }
  const leaf = (name: string, cn: string, ca: string, extFile: string) => {
    o("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${cn}`, "-keyout", `${name}.key`, "-out", `${name}.csr`);
    o(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${ca}.pem`,
      "-CAkey",
      `${ca}.key`,
      "-CAcreateserial",
      "-days",
      "2",
      "-extfile",
      extFile,
      "-out",
      `${name}.pem`,
    );
  };
  leaf("server", "localhost", "ca", ext);
  leaf("client", "client", "ca", cext);
  leaf("rogue", "rogue", "rogue-ca", cext);
  const r = (f: string) => readFileSync(join(dir, f));
  return {
    ca: r("ca.pem"),
    serverCert: r("server.pem"),
    serverKey: r("server.key"),
    clientCert: r("client.pem"),
    clientKey: r("client.key"),
    rogueCert: r("rogue.pem"),
    rogueKey: r("rogue.key"),
    files: { ca: join(dir, "ca.pem"), serverCert: join(dir, "server.pem"), serverKey: join(dir, "server.key") },
  };
}

/** Collects up to `max` items of an async iterable. */
export async function take<T>(iterable: AsyncIterable<T>, max: number): Promise<T[]> {
  const out: T[] = [];
  if (max <= 0) return out;
  for await (const item of iterable) {
    out.push(item);
    if (out.length >= max) break;
  }
  return out;
}

/** Polls `check` until it returns true, failing after `timeoutMs`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
