/**
 * Interop: an independent gRPC implementation (@grpc/grpc-js with @grpc/proto-loader,
 * reading our .proto files at test time) talks to baton-server over the Unix socket.
 */
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, startHarness } from "./helpers.js";

const protoRoot = join(import.meta.dirname, "../../../proto/baaaht");

type Unary = (req: object, cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void) => void;
type ServiceClient = grpc.Client & Record<string, Unary>;
type ServiceCtor = new (target: string, creds: grpc.ChannelCredentials) => ServiceClient;

function load(file: string): grpc.GrpcObject {
  const def = protoLoader.loadSync(join(protoRoot, file), {
    includeDirs: [protoRoot],
    keepCase: true,
    enums: String,
    longs: String,
    defaults: true,
  });
  return grpc.loadPackageDefinition(def);
}

function ctor(pkg: grpc.GrpcObject, path: string[]): ServiceCtor {
  let node: unknown = pkg;
  for (const p of path) node = (node as Record<string, unknown>)[p];
  return node as ServiceCtor;
}

function call(client: ServiceClient, method: string, req: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const fn = client[method];
    if (!fn) throw new Error(`no method ${method}`);
    fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

let h: Harness;
let health: ServiceClient;
let orchestrator: ServiceClient;
beforeAll(async () => {
  h = await startHarness();
  const target = `unix://${h.socketPath}`;
  const creds = grpc.credentials.createInsecure();
  health = new (ctor(load("grpc/health/v1/health.proto"), ["grpc", "health", "v1", "Health"]))(target, creds);
  orchestrator = new (ctor(load("orchestrator/v1/orchestrator.proto"), ["orchestrator", "v1", "OrchestratorService"]))(
    target,
    creds,
  );
});
afterAll(async () => {
  health?.close();
  orchestrator?.close();
  await h?.close();
});

describe("interop with @grpc/grpc-js over the Unix socket", () => {
  it("grpc.health.v1.Health/Check", async () => {
    expect((await call(health, "Check", { service: "" })).status).toBe("SERVING");
    expect((await call(health, "Check", { service: "orchestrator.v1.OrchestratorService" })).status).toBe("SERVING");
    await expect(call(health, "Check", { service: "nope" })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("orchestrator.v1.OrchestratorService/ListSessions sees what @baton/baaaht created, and vice versa", async () => {
    const handle = await h.unix.sessions.create({ metadata: { name: "from-baton", ownerId: "interop" } });
    const created = await call(orchestrator, "CreateSession", {
      metadata: { name: "from-grpc-js", owner_id: "interop", labels: { via: "grpc-js" } },
      config: { max_containers: 3, idle_timeout_ns: "3600000000000" },
    });
    const res = await call(orchestrator, "ListSessions", { filter: { owner_id: "interop" } });
    const sessions = res.sessions as Array<{ id: string; state: string; metadata: { name: string } }>;
    expect(sessions.map((s) => s.metadata.name).sort()).toEqual(["from-baton", "from-grpc-js"]);
    expect(sessions.every((s) => s.state === "SESSION_STATE_ACTIVE")).toBe(true);
    expect(res.total_count).toBe(2);
    const back = await h.unix.sessions.get(created.session_id as string);
    expect(back.metadata?.labels).toEqual({ via: "grpc-js" });
    expect(back.context?.config?.maxContainers).toBe(3);
    expect(sessions.some((s) => s.id === handle.id)).toBe(true);
  });
});
