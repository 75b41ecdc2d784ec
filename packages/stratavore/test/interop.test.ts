/**
 * Interop: a gRPC client nothing in this repo wrote (@grpc/grpc-js, with @grpc/proto-loader
 * reading our .proto files at test time) creates a runner on baton-server over TCP and
 * streams its events, including the typed `Any` payloads, decoded by protobufjs.
 */
import { join } from "node:path";
import { type BatonServer, startServer } from "@baton/server";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const protoRoot = join(import.meta.dirname, "../../../proto/stratavore");

type Callback = (err: grpc.ServiceError | null, res: Record<string, unknown>) => void;
type ServiceClient = grpc.Client &
  Record<string, (req: object, cb: Callback) => void> & {
    StreamRunnerEvents(req: object): grpc.ClientReadableStream<GrpcEvent>;
  };
type ServiceCtor = new (target: string, creds: grpc.ChannelCredentials) => ServiceClient;

/** A RunnerEvent as proto-loader decodes it (keepCase, enums as names, Any as JSON). */
interface GrpcEvent {
  event_id: string;
  event_type: string;
  runner_id: string;
  project_name: string;
  timestamp: { seconds: string; nanos: number } | null;
  payload: { "@type"?: string; status?: string; previous_status?: string; reason?: string } | null;
}

function service(file: string, name: string, target: string): ServiceClient {
  const def = protoLoader.loadSync(join(protoRoot, "stratavore/v1", file), {
    includeDirs: [protoRoot],
    keepCase: true,
    enums: String,
    longs: String,
    defaults: true,
    json: true,
  });
  const v1 = (grpc.loadPackageDefinition(def).stratavore as grpc.GrpcObject).v1 as grpc.GrpcObject;
  const Ctor = v1[name] as unknown as ServiceCtor;
  return new Ctor(target, grpc.credentials.createInsecure());
}

function call(client: ServiceClient, method: string, req: object): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const fn = client[method];
    if (!fn) return reject(new Error(`no method ${method}`));
    fn.call(client, req, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

let server: BatonServer;
let runners: ServiceClient;
let projects: ServiceClient;
beforeAll(async () => {
  server = await startServer({ listen: ["127.0.0.1:0"] });
  const target = server.addresses[0] as string;
  runners = service("runner.proto", "RunnerService", target);
  projects = service("project.proto", "ProjectService", target);
});
afterAll(async () => {
  runners?.close();
  projects?.close();
  await server?.close();
});

describe("interop with @grpc/grpc-js over TCP", () => {
  it("creates a runner with metadata and streams its lifecycle with typed Any payloads", async () => {
    await call(projects, "CreateProject", { name: "grpc-js", path: "/tmp", quota: { max_concurrent_runners: 1 } });
    const created = await call(runners, "CreateRunner", {
      project_name: "grpc-js",
      model: "claude-3-sonnet",
      temperature: 0.7,
      max_tokens: 4096,
      metadata: { environment: "development", user: "john.doe" },
    });
    const runner = created.runner as { id: string; status: string; metadata: Record<string, string> };
    expect(runner.id).toMatch(/^run-/);
    expect(runner.status).toBe("RUNNER_STATUS_STARTING");
    expect(runner.metadata).toEqual({ environment: "development", user: "john.doe" });

    // The quota holds for this client too: the second runner is refused with the seed's code.
    const refused = await call(runners, "CreateRunner", { project_name: "grpc-js" }).catch((e: unknown) => e);
    expect((refused as grpc.ServiceError).code).toBe(grpc.status.RESOURCE_EXHAUSTED);

    const stream = runners.StreamRunnerEvents({ runner_id: runner.id, from_start: true });
    const events: GrpcEvent[] = [];
    let stopping: Promise<Record<string, unknown>> | undefined;
    for await (const e of stream as AsyncIterable<GrpcEvent>) {
      events.push(e);
      // Stopped live, once the stream has shown the runner running.
      if (e.event_type === "EVENT_TYPE_RUNNER_STARTED")
        stopping = call(runners, "StopRunner", { runner_id: runner.id, reason: "interop" });
      if (e.event_type === "EVENT_TYPE_RUNNER_STOPPED") break;
    }
    stream.cancel();
    const stopped = (await stopping)?.runner as { status: string; status_reason: string };
    expect(stopped.status).toBe("RUNNER_STATUS_TERMINATED");

    expect(events.map((e) => e.event_type)).toEqual([
      "EVENT_TYPE_RUNNER_CREATED",
      "EVENT_TYPE_RUNNER_STARTED",
      "EVENT_TYPE_RUNNER_STOPPING",
      "EVENT_TYPE_RUNNER_STOPPED",
    ]);
    expect(new Set(events.map((e) => e.event_id)).size).toBe(4);
    for (const e of events) {
      expect(e.runner_id).toBe(runner.id);
      expect(e.project_name).toBe("grpc-js");
      expect(Number(e.timestamp?.seconds)).toBeGreaterThan(0);
      expect(e.payload?.["@type"]).toBe("type.googleapis.com/stratavore.v1.RunnerStateChange");
    }
    expect(events.map((e) => e.payload?.status)).toEqual([
      "RUNNER_STATUS_STARTING",
      "RUNNER_STATUS_RUNNING",
      "RUNNER_STATUS_STOPPING",
      "RUNNER_STATUS_TERMINATED",
    ]);
    expect(events[3]?.payload?.previous_status).toBe("RUNNER_STATUS_STOPPING");
    expect(events[3]?.payload?.reason).toBe("interop");
  });
});
