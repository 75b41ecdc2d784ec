// The one throwaway PKI every package's TLS tests use, made with openssl at test time (a
// test of TLS needs real certificates, and none are checked in). Not part of any package:
// it lives outside packages/*, so no package's `files` can publish it.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * PEM material for TLS tests: a CA, a server certificate it signed for `localhost`,
 * `orca.test` and `127.0.0.1`, a client certificate it signed, and a client certificate
 * of another CA.
 */
export interface TestPki {
  /** The CA's certificate: what clients trust, and what servers check client certificates against. */
  ca: Buffer;
  serverCert: Buffer;
  serverKey: Buffer;
  clientCert: Buffer;
  clientKey: Buffer;
  /** A client certificate signed by a different CA (mutual TLS must refuse it). */
  rogueCert: Buffer;
  rogueKey: Buffer;
  /** The files of the CA certificate and the server's certificate and key, for servers that take paths. */
  files: { ca: string; serverCert: string; serverKey: string };
}

/** Makes a throwaway PKI with openssl in `dir` (which the caller removes). */
export function makePki(dir: string): TestPki {
  const o = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const days = ["-days", "2"];
  writeFileSync(
    join(dir, "server.ext"),
    "subjectAltName=DNS:localhost,DNS:orca.test,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
  );
  writeFileSync(join(dir, "client.ext"), "extendedKeyUsage=clientAuth\n");
  for (const ca of ["ca", "rogue-ca"])
    o(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      ...days,
      "-subj",
      `/CN=${ca}`,
      "-keyout",
      `${ca}.key`,
      "-out",
      `${ca}.pem`,
    );
  const leaf = (name: string, cn: string, ca: string, ext: string) => {
    o("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${cn}`, "-keyout", `${name}.key`, "-out", `${name}.csr`);
    const signer = ["-CA", `${ca}.pem`, "-CAkey", `${ca}.key`, "-CAcreateserial"];
    o("x509", "-req", "-in", `${name}.csr`, ...signer, ...days, "-extfile", ext, "-out", `${name}.pem`);
  };
  leaf("server", "localhost", "ca", "server.ext");
  leaf("client", "client", "ca", "client.ext");
  leaf("rogue", "rogue", "rogue-ca", "client.ext");
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
