// baton-server as a tool: --version, module settings checked against what each module
// declares (and --help listing them from the declarations), environment variables for the
// options (flag > env > config file).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createOrcaModule,
  createPortariumModule,
  defaultModules,
  envName,
  parseCli,
  startServer,
  USAGE,
} from "@baton/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const bin = join(import.meta.dirname, "../dist/bin.js");
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "baton-cli-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the bin to its end; answers its exit code and output. */
function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once("exit", (code) => resolve({ code, stdout, stderr })),
  );
}

describe("baton-server --version", () => {
  it("prints the package version and exits 0", async () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, "../package.json"), "utf8")) as { version: string };
    const r = await run(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`baton-server ${pkg.version}\n`);
  });
});

describe("module settings", () => {
  const declared = defaultModules.flatMap((f) => f.settings ?? []);

  it("every module with settings declares them, and --help lists each with what it takes", () => {
    for (const prefix of ["baaaht", "portarium", "edgemesh", "stratavore"]) {
      expect(
        declared.some((d) => d.key.startsWith(`${prefix}.`)),
        prefix,
      ).toBe(true);
    }
    for (const d of declared) {
      expect(USAGE).toContain(`  ${d.key}: ${d.allowed}`);
      if (d.defaultText !== undefined) expect(USAGE).toContain(`${d.key}: ${d.allowed} (default ${d.defaultText})`);
    }
    // The dedicated flags' settings are declared too.
    for (const k of ["baaaht.containerRuntime", "portarium.serviceAccounts", "portarium.jwtSecret"]) {
      expect(declared.map((d) => d.key)).toContain(k);
    }
  });

  it("refuses an unknown key, naming it and the keys its module knows", () => {
    expect(() => parseCli(["--set", "portarium.tokenTTL=60"], {})).toThrow(
      /unknown setting portarium\.tokenTTL: the portarium settings are .*portarium\.tokenTtlSeconds/,
    );
    expect(() => parseCli(["--set", "orcha.x=1"], {})).toThrow(
      /unknown setting orcha\.x: settings start with .*baaaht\., .*stratavore\./,
    );
    // From the config file too.
    const config = join(dir, "bad.json");
    writeFileSync(config, JSON.stringify({ settings: { "edgemesh.hasGPU": "true" } }));
    expect(() => parseCli(["--config", config], {})).toThrow(/unknown setting edgemesh\.hasGPU/);
  });

  it.each([
    ["baaaht.streamHeartbeatMs", "soon", "a positive number"],
    [
      "portarium.connectionTestAllow",
      "10.0.0.0/33",
      "a comma-separated allowlist (public, IP, CIDR, host name, each with an optional :port)",
    ],
    ["portarium.idempotencyMaxEntries", "2.5", "a positive integer"],
    ["edgemesh.hasGpu", "yes", "true or false"],
    ["edgemesh.llmDecodeToksPerS", "-1", "a number >= 0"],
    ["stratavore.runtime", "docker", "record or process"],
    ["portarium.validateResponses", "1", "true or false"],
  ])("refuses %s=%s, saying it must be %s", (key, value, allowed) => {
    expect(() => parseCli(["--set", `${key}=${value}`], {})).toThrow(`${key} must be ${allowed}, got ${value}`);
  });

  it("takes allowed values", () => {
    const o = parseCli(
      [
        "--set",
        "baaaht.streamHeartbeatMs=250",
        "--set",
        "edgemesh.hasGpu=true",
        "--set",
        "stratavore.jwtAudience=",
        "--set",
        "portarium.validateResponses=true",
      ],
      {},
    );
    expect(o.settings).toMatchObject({ "baaaht.streamHeartbeatMs": "250", "edgemesh.hasGpu": "true" });
  });

  it("the bin refuses a bad --set with exit code 2 and the message", async () => {
    const r = await run(["--listen", "127.0.0.1:0", "--set", "baaaht.historySize=lots"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^baton-server: baaaht\.historySize must be a positive number, got lots\n/);
  });

  it("startServer refuses a key of a running module it does not declare, and lets others through", async () => {
    await expect(
      startServer({ listen: ["127.0.0.1:0"], modules: [createPortariumModule], settings: { "portarium.ttl": "1" } }),
    ).rejects.toThrow(/unknown setting portarium\.ttl/);
    // No Portarium module runs here: its settings are not this server's business.
    const s = await startServer({
      listen: ["127.0.0.1:0"],
      modules: [createOrcaModule],
      settings: { "portarium.ttl": "1" },
    });
    await s.close();
  });
});

describe("environment variables", () => {
  it("are named after the flags, and --help lists them", () => {
    expect(envName("tls-client-ca")).toBe("BATON_TLS_CLIENT_CA");
    for (const v of [
      "BATON_LISTEN",
      "BATON_TOKEN",
      "BATON_TLS_CERT",
      "BATON_TLS_KEY",
      "BATON_TLS_CLIENT_CA",
      "BATON_LOG_LEVEL",
      "BATON_LOG_FORMAT",
      "BATON_MAX_MESSAGE_BYTES",
      "BATON_JWT_SECRET",
      "BATON_CONFIG",
    ]) {
      expect(USAGE).toContain(v);
    }
  });

  it("set options; a flag wins over its variable, a variable over the config file", () => {
    const config = join(dir, "c.json");
    writeFileSync(config, JSON.stringify({ token: "from-file", listen: ["127.0.0.1:1"], logLevel: "debug" }));
    const env = { BATON_TOKEN: "from-env", BATON_LISTEN: "127.0.0.1:2, unix:///tmp/x.sock", BATON_CONFIG: config };
    const fromEnv = parseCli([], env);
    expect(fromEnv.token).toBe("from-env");
    expect(fromEnv.listen).toEqual(["127.0.0.1:2", "unix:///tmp/x.sock"]);
    // Not in the environment: the file's.
    expect(fromEnv.logLevel).toBe("debug");
    const fromFlags = parseCli(["--token", "from-flag", "--listen", "127.0.0.1:3"], env);
    expect(fromFlags.token).toBe("from-flag");
    expect(fromFlags.listen).toEqual(["127.0.0.1:3"]);
    expect(parseCli([], { BATON_MAX_MESSAGE_BYTES: "2048" }).maxReceiveMessageBytes).toBe(2048);
    expect(() => parseCli([], { BATON_LOG_FORMAT: "xml" })).toThrow(/--log-format must be text or json, got xml/);
    expect(() => parseCli([], { BATON_LOG_LEVEL: "loud" })).toThrow(
      /--log-level must be one of error, warn, info, debug/,
    );
    // Variables of other tools that share the prefix are not options: left alone.
    expect(parseCli([], { BATON_REQUIRE_INTEROP: "1" }).token).toBeUndefined();
  });
});
