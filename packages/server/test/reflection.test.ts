// gRPC server reflection (grpc.reflection.v1 and v1alpha) on baton-server: checked with an
// independent client (Python grpcio, stubs from Debian's grpc-proto) that lists the services
// and describes a method from the files it was sent, and with the generated Connect client
// for the rest of the protocol.
import { execFile, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Connection } from "@baton/core";
import { type BatonServer, startServer } from "@baton/server";
import { grpcHealth, OrchestratorService } from "@baton/wire/baaaht";
import { OrchestratorService as EdgemeshService } from "@baton/wire/edgemesh";
import { v1, v1alpha } from "@baton/wire/grpc-reflection";
import { Orchestrator, StartRunRequestSchema } from "@baton/wire/orca";
import { CreateRunnerRequestSchema, RunnerService } from "@baton/wire/stratavore";
import { fromBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const python = "/usr/bin/python3";
const grpcProto = "/usr/share/grpc-proto";
const haveClient =
  spawnSync(python, ["-c", "import grpc, grpc_tools"], { stdio: "ignore" }).status === 0 &&
  existsSync(join(grpcProto, "grpc/reflection/v1/reflection.proto"));
// CI must never run without the independent client: .ci/run installs it and sets this.
if (!haveClient) {
  const msg =
    "python3-grpcio / python3-grpc-tools / grpc-proto are not installed: the Python reflection test cannot run. " +
    "Install them with `apt-get install python3-grpcio python3-grpc-tools grpc-proto`.";
  if (process.env.BATON_REQUIRE_INTEROP === "1") throw new Error(`${msg} (BATON_REQUIRE_INTEROP=1)`);
  console.warn(`\n*** ${msg} Skipping it. ***\n`);
}

const TOKEN = "refl-token";
let server: BatonServer;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "baton-reflection-"));
  server = await startServer({ listen: ["127.0.0.1:0", `unix://${join(dir, "r.sock")}`], token: TOKEN });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every gRPC service the default baton-server serves. */
const SERVED = [
  Orchestrator.typeName,
  OrchestratorService.typeName,
  grpcHealth.Health.typeName,
  EdgemeshService.typeName,
  RunnerService.typeName,
  v1.ServerReflection.typeName,
  v1alpha.ServerReflection.typeName,
];

interface PythonReport {
  answers: number;
  services: string[];
  valid_host: string;
  original_request_is_list: boolean;
  files_first: string[];
  files_again: string[];
  input_type: string;
  input_fields: { name: string; number: number; message_type: string | null }[];
  errors: { case: string; code: number; message: string }[];
}

describe.skipIf(!haveClient)("reflection with Python grpcio (Debian's grpc-proto stubs)", () => {
  beforeAll(() => {
    const gen = spawnSync(
      python,
      [
        "-m",
        "grpc_tools.protoc",
        "-I",
        grpcProto,
        `--python_out=${dir}`,
        `--grpc_python_out=${dir}`,
        "grpc/reflection/v1/reflection.proto",
        "grpc/reflection/v1alpha/reflection.proto",
      ],
      { encoding: "utf8" },
    );
    expect(gen.status, gen.stderr).toBe(0);
    copyFileSync(join(import.meta.dirname, "interop/reflection_client.py"), join(dir, "reflection_client.py"));
  });
  const run = async (args: string[]): Promise<PythonReport> => {
    // Asynchronously: the server runs in this process and must keep serving.
    const r = await promisify(execFile)(python, ["reflection_client.py", ...args], {
      cwd: dir,
      encoding: "utf8",
      timeout: 30_000,
    });
    return JSON.parse(r.stdout) as PythonReport;
  };

  it("v1 over TCP without a token: lists every service and describes a method across its imports", async () => {
    const tcp = server.addresses[0] as string;
    const r = await run([tcp, "v1", RunnerService.typeName, "CreateRunner"]);
    expect(r.answers).toBe(6);
    for (const s of SERVED) expect(r.services).toContain(s);
    expect(r.valid_host).toBe("h");
    expect(r.original_request_is_list).toBe(true);
    // The file first, then every file it imports (transitively), so a descriptor pool builds.
    expect(r.files_first[0]).toBe("stratavore/v1/runner.proto");
    expect(r.files_first).toEqual(
      expect.arrayContaining([
        "stratavore/v1/types.proto",
        "google/protobuf/timestamp.proto",
        "google/protobuf/any.proto",
      ]),
    );
    // Asked again on the same stream: the file again, its dependencies not twice.
    expect(r.files_again).toEqual(["stratavore/v1/runner.proto"]);
    expect(r.input_type).toBe(CreateRunnerRequestSchema.typeName);
    expect(r.input_fields.map((f) => [f.name, f.number])).toEqual(
      CreateRunnerRequestSchema.fields.map((f) => [f.name, f.number]),
    );
    expect(r.input_fields.find((f) => f.name === "quota")?.message_type).toBe("stratavore.v1.ResourceQuota");
    expect(r.errors).toEqual([
      { case: "error_response", code: 5, message: "symbol not found: no.such.Symbol" },
      { case: "error_response", code: 5, message: "file not found: no/such/file.proto" },
      { case: "error_response", code: 3, message: expect.stringContaining("asks nothing") },
    ]);
  });

  it("v1alpha over the Unix socket, with the token a user passes", async () => {
    const unix = (server.addresses[1] as string).replace("unix://", "unix:");
    const r = await run([unix, "v1alpha", Orchestrator.typeName, "StartRun", TOKEN]);
    for (const s of SERVED) expect(r.services).toContain(s);
    expect(r.files_first).toEqual(["orca/v1/orca_v1.proto"]);
    expect(r.input_type).toBe("orca.v1.StartRunRequest");
    expect(r.input_fields.map((f) => f.name)).toEqual(StartRunRequestSchema.fields.map((f) => f.name));
  });
});

describe("reflection with the generated Connect client", () => {
  let connection: Connection;
  beforeAll(() => {
    connection = new Connection({ address: server.addresses[0] as string });
  });
  afterAll(() => connection.close());

  const ask = async (...requests: MessageInitShape<typeof v1.ServerReflectionRequestSchema>[]) => {
    const client = createClient(v1.ServerReflection, connection.transport);
    async function* reqs() {
      for (const r of requests) yield r;
    }
    const out: v1.ServerReflectionResponse[] = [];
    for await (const res of client.serverReflectionInfo(reqs())) out.push(res);
    return out;
  };
  const names = (res: v1.ServerReflectionResponse | undefined) =>
    res?.messageResponse.case === "fileDescriptorResponse"
      ? res.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name)
      : [];
  const errorOf = (res: v1.ServerReflectionResponse | undefined) =>
    res?.messageResponse.case === "errorResponse" ? res.messageResponse.value : undefined;

  it("finds files by name and by every kind of symbol", async () => {
    const res = await ask(
      { messageRequest: { case: "fileByFilename", value: "google/protobuf/timestamp.proto" } },
      { messageRequest: { case: "fileContainingSymbol", value: "orca.v1.StartRunRequest.budget" } },
      { messageRequest: { case: "fileContainingSymbol", value: ".grpc.health.v1.HealthCheckResponse.ServingStatus" } },
      // An enum value in its enum's scope (protobuf's scoping), and under the enum.
      { messageRequest: { case: "fileContainingSymbol", value: "grpc.health.v1.HealthCheckResponse.SERVING" } },
      { messageRequest: { case: "fileContainingSymbol", value: "grpc.reflection.v1alpha.ServerReflection" } },
    );
    expect(res.map(names)).toEqual([
      ["google/protobuf/timestamp.proto"],
      ["orca/v1/orca_v1.proto"],
      ["grpc/health/v1/health.proto"],
      ["grpc/health/v1/health.proto"],
      // v1alpha's rpc takes v1's messages: its file imports v1's, not yet sent on this stream.
      ["grpc/reflection/v1alpha/reflection.proto", "grpc/reflection/v1/reflection.proto"],
    ]);
  });

  it("answers NOT_FOUND for extensions none of the files declare, and the (empty) numbers of a known message", async () => {
    const res = await ask(
      {
        messageRequest: {
          case: "fileContainingExtension",
          value: { containingType: "orca.v1.StartRunRequest", extensionNumber: 100 },
        },
      },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "orca.v1.StartRunRequest" } },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "orca.v1.NoSuchMessage" } },
      { messageRequest: { case: "listServices", value: "" } },
    );
    expect(errorOf(res[0])).toMatchObject({ errorCode: Code.NotFound, errorMessage: expect.stringContaining("100") });
    expect(res[1]?.messageResponse).toEqual({
      case: "allExtensionNumbersResponse",
      value: expect.objectContaining({ baseTypeName: "orca.v1.StartRunRequest", extensionNumber: [] }),
    });
    expect(errorOf(res[2])).toMatchObject({ errorCode: Code.NotFound });
    // An error answer does not end the stream: the next question is answered.
    expect(res[3]?.messageResponse.case).toBe("listServicesResponse");
  });

  it("is open without the token while the other services still need it", async () => {
    const orca = createClient(Orchestrator, connection.transport);
    await expect(orca.startRun({ workflowId: "r" })).rejects.toSatisfy(
      (e) => e instanceof ConnectError && e.code === Code.Unauthenticated,
    );
    const [listed] = await ask({ messageRequest: { case: "listServices", value: "" } });
    expect(listed?.messageResponse.case).toBe("listServicesResponse");
  });
});
