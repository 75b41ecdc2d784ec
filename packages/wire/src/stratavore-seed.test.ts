import type { DescEnum, DescField, DescMessage, DescService } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import * as stratavore from "./stratavore.js";

// Stratavore's API reference (the seed) is the contract: every rpc, and every field of every
// message it shows, with its name, number and type. Kept here as a table, written out from the
// reference's code blocks, so the test does not depend on ../shared and fails when our proto
// renames, renumbers or retypes anything the reference shows.

const seedServices: Record<string, string[]> = {
  RunnerService: [
    "CreateRunner(CreateRunnerRequest) returns (CreateRunnerResponse)",
    "GetRunner(GetRunnerRequest) returns (GetRunnerResponse)",
    "ListRunners(ListRunnersRequest) returns (ListRunnersResponse)",
    "UpdateRunner(UpdateRunnerRequest) returns (UpdateRunnerResponse)",
    "DeleteRunner(DeleteRunnerRequest) returns (DeleteRunnerResponse)",
    "StopRunner(StopRunnerRequest) returns (StopRunnerResponse)",
    "RestartRunner(RestartRunnerRequest) returns (RestartRunnerResponse)",
    "StreamRunnerEvents(StreamRunnerEventsRequest) returns (stream RunnerEvent)",
  ],
  ProjectService: [
    "CreateProject(CreateProjectRequest) returns (CreateProjectResponse)",
    "GetProject(GetProjectRequest) returns (GetProjectResponse)",
    "ListProjects(ListProjectsRequest) returns (ListProjectsResponse)",
    "UpdateProject(UpdateProjectRequest) returns (UpdateProjectResponse)",
    "DeleteProject(DeleteProjectRequest) returns (DeleteProjectResponse)",
  ],
  SessionService: [
    "CreateSession(CreateSessionRequest) returns (CreateSessionResponse)",
    "GetSession(GetSessionRequest) returns (GetSessionResponse)",
    "ListSessions(ListSessionsRequest) returns (ListSessionsResponse)",
    "ResumeSession(ResumeSessionRequest) returns (ResumeSessionResponse)",
    "GetSessionTranscript(GetSessionTranscriptRequest) returns (GetSessionTranscriptResponse)",
  ],
  DaemonService: [
    "GetStatus(GetStatusRequest) returns (GetStatusResponse)",
    "GetMetrics(GetMetricsRequest) returns (GetMetricsResponse)",
    "HealthCheck(HealthCheckRequest) returns (HealthCheckResponse)",
    "Reconcile(ReconcileRequest) returns (ReconcileResponse)",
  ],
};

const seedMessages: Record<string, string[]> = {
  CreateRunnerRequest: [
    "string project_name = 1",
    "string model = 2",
    "double temperature = 3",
    "int32 max_tokens = 4",
    "map<string,string> metadata = 5",
    "string runtime_id = 6",
    "ResourceQuota quota = 7",
  ],
  CreateRunnerResponse: ["Runner runner = 1", "repeated string warnings = 2"],
  GetRunnerRequest: ["string runner_id = 1", "bool include_metrics = 2", "bool include_session = 3"],
  GetRunnerResponse: ["Runner runner = 1", "RunnerMetrics metrics = 2", "Session session = 3"],
  ListRunnersRequest: [
    "string project_name = 1",
    "RunnerStatus status = 2",
    "int32 limit = 3",
    "int32 offset = 4",
    "bool include_metrics = 5",
    "map<string,string> metadata_filter = 6",
  ],
  ListRunnersResponse: ["repeated Runner runners = 1", "int32 total_count = 2", "bool has_more = 3"],
  StreamRunnerEventsRequest: ["string project_name = 1", "repeated EventType event_types = 2", "string runner_id = 3"],
  RunnerEvent: [
    "string event_id = 1",
    "EventType event_type = 2",
    "google.protobuf.Timestamp timestamp = 3",
    "string runner_id = 4",
    "string project_name = 5",
    "google.protobuf.Any payload = 6",
    "map<string,string> metadata = 7",
  ],
  CreateProjectRequest: [
    "string name = 1",
    "string description = 2",
    "string path = 3",
    "ResourceQuota quota = 4",
    "ProjectConfig config = 5",
    "map<string,string> metadata = 6",
  ],
  CreateProjectResponse: ["Project project = 1", "repeated string warnings = 2"],
  ListProjectsRequest: ["ProjectStatus status = 1", "bool include_stats = 2", "int32 limit = 3", "int32 offset = 4"],
  ListProjectsResponse: ["repeated Project projects = 1", "int32 total_count = 2", "bool has_more = 3"],
  GetSessionTranscriptRequest: ["string session_id = 1", "bool include_metadata = 2", "TranscriptFormat format = 3"],
  GetSessionTranscriptResponse: [
    "string session_id = 1",
    "repeated TranscriptMessage messages = 2",
    "SessionMetadata metadata = 3",
    "int64 total_tokens = 4",
    "google.protobuf.Timestamp created_at = 5",
    "google.protobuf.Timestamp updated_at = 6",
  ],
  TranscriptMessage: [
    "string role = 1",
    "string content = 2",
    "google.protobuf.Timestamp timestamp = 3",
    "map<string,string> metadata = 4",
  ],
  GetStatusRequest: ["bool include_detailed = 1", "ComponentType component = 2"],
  GetStatusResponse: [
    "DaemonStatus daemon_status = 1",
    "map<string,ComponentStatus> components = 2",
    "SystemMetrics system_metrics = 3",
    "google.protobuf.Timestamp last_updated = 4",
  ],
  DaemonStatus: [
    "bool healthy = 1",
    "int32 active_runners = 2",
    "int32 total_projects = 3",
    "google.protobuf.Timestamp uptime = 4",
    "string version = 5",
  ],
  Runner: [
    "string id = 1",
    "string project_name = 2",
    "RunnerStatus status = 3",
    "string model = 4",
    "double temperature = 5",
    "int32 max_tokens = 6",
    "string runtime_id = 7",
    "google.protobuf.Timestamp created_at = 8",
    "google.protobuf.Timestamp updated_at = 9",
    "google.protobuf.Timestamp last_heartbeat = 10",
    "map<string,string> metadata = 11",
    "ResourceUsage resource_usage = 12",
  ],
  Project: [
    "string name = 1",
    "string description = 2",
    "string path = 3",
    "ProjectStatus status = 4",
    "ResourceQuota quota = 5",
    "ProjectConfig config = 6",
    "ProjectStatistics statistics = 7",
    "google.protobuf.Timestamp created_at = 8",
    "google.protobuf.Timestamp updated_at = 9",
    "map<string,string> metadata = 10",
  ],
  ProjectStatistics: [
    "int32 active_runners = 1",
    "int32 total_runners = 2",
    "int64 total_sessions = 3",
    "int64 total_tokens_used = 4",
    "int64 tokens_used_today = 5",
  ],
  Session: [
    "string id = 1",
    "string runner_id = 2",
    "string project_name = 3",
    "SessionStatus status = 4",
    "int64 token_count = 5",
    "google.protobuf.Timestamp created_at = 6",
    "google.protobuf.Timestamp updated_at = 7",
    "google.protobuf.Timestamp last_activity = 8",
    "string model = 9",
    "map<string,string> metadata = 10",
  ],
  ResourceUsage: [
    "double cpu_percent = 1",
    "int64 memory_mb = 2",
    "int64 tokens_used = 3",
    "google.protobuf.Timestamp last_updated = 4",
  ],
  ResourceQuota: [
    "int32 max_concurrent_runners = 1",
    "int64 max_memory_mb = 2",
    "int32 max_cpu_percent = 3",
    "int64 max_tokens_per_day = 4",
  ],
  ErrorInfo: ["string code = 1", "string message = 2", "map<string,string> details = 3", "string request_id = 4"],
};

// Enum values the reference shows (with numbers where it gives them) or names in its examples.
const seedEnums: Record<string, string[]> = {
  RunnerStatus: [
    "RUNNER_STATUS_UNSPECIFIED = 0",
    "RUNNER_STATUS_STARTING = 1",
    "RUNNER_STATUS_RUNNING = 2",
    "RUNNER_STATUS_PAUSED = 3",
    "RUNNER_STATUS_STOPPING = 4",
    "RUNNER_STATUS_TERMINATED = 5",
    "RUNNER_STATUS_FAILED = 6",
  ],
  EventType: ["EVENT_TYPE_RUNNER_STARTED", "EVENT_TYPE_RUNNER_STOPPED", "EVENT_TYPE_RUNNER_FAILED"],
  TranscriptFormat: ["TRANSCRIPT_FORMAT_JSON"],
};

const PKG = "stratavore.v1.";
const exported = Object.values(stratavore as Record<string, unknown>);
const services = new Map(
  exported.filter((v): v is DescService => isDesc(v, "service")).map((s) => [s.typeName, s] as const),
);
const messages = new Map(
  exported.filter((v): v is DescMessage => isDesc(v, "message")).map((m) => [m.typeName, m] as const),
);
const enums = new Map(exported.filter((v): v is DescEnum => isDesc(v, "enum")).map((e) => [e.typeName, e] as const));

function isDesc(v: unknown, kind: string): boolean {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === kind && "typeName" in v;
}

/** The name a `.proto` file would use for a type: short inside stratavore.v1, full outside. */
function protoName(typeName: string): string {
  return typeName.startsWith(PKG) ? typeName.slice(PKG.length) : typeName;
}

function valueType(f: DescField): string {
  switch (f.fieldKind) {
    case "scalar":
      return scalarName(f.scalar);
    case "enum":
      return protoName(f.enum.typeName);
    case "message":
      return protoName(f.message.typeName);
    case "list":
      return `repeated ${f.listKind === "scalar" ? scalarName(f.scalar) : protoName((f.listKind === "enum" ? f.enum : f.message).typeName)}`;
    case "map": {
      const value =
        f.mapKind === "scalar" ? scalarName(f.scalar) : protoName((f.mapKind === "enum" ? f.enum : f.message).typeName);
      return `map<${scalarName(f.mapKey)},${value}>`;
    }
  }
}

function scalarName(t: number): string {
  // ScalarType numbers are descriptor.proto's FieldDescriptorProto.Type.
  const names: Record<number, string> = {
    1: "double",
    2: "float",
    3: "int64",
    4: "uint64",
    5: "int32",
    6: "fixed64",
    7: "fixed32",
    8: "bool",
    9: "string",
    12: "bytes",
    13: "uint32",
    15: "sfixed32",
    16: "sfixed64",
    17: "sint32",
    18: "sint64",
  };
  return names[t] ?? `scalar#${t}`;
}

describe("stratavore.v1 holds everything the API reference shows", () => {
  it.each(Object.entries(seedServices))("service %s has every rpc with its types", (name, rpcs) => {
    const svc = services.get(PKG + name);
    expect(svc, `service ${name}`).toBeDefined();
    const ours = (svc as DescService).methods.map(
      (m) =>
        `${m.name}(${protoName(m.input.typeName)}) returns (${m.methodKind === "server_streaming" ? "stream " : ""}${protoName(m.output.typeName)})`,
    );
    expect(ours).toEqual(rpcs);
  });

  it.each(Object.entries(seedMessages))("message %s has every field with its number and type", (name, fields) => {
    const msg = messages.get(PKG + name);
    expect(msg, `message ${name}`).toBeDefined();
    const ours = new Map((msg as DescMessage).fields.map((f) => [f.name, `${valueType(f)} ${f.name} = ${f.number}`]));
    for (const line of fields) {
      const fieldName = line.split(" = ")[0]?.split(" ").at(-1) ?? "";
      expect(ours.get(fieldName), `${name}.${fieldName}`).toBe(line);
    }
  });

  it.each(Object.entries(seedEnums))("enum %s has the values the reference uses", (name, values) => {
    const e = enums.get(PKG + name);
    expect(e, `enum ${name}`).toBeDefined();
    const ours = new Map((e as DescEnum).values.map((v) => [v.name, v.number]));
    for (const v of values) {
      const [valueName = "", number] = v.split(" = ");
      expect(ours.has(valueName), `${name}.${valueName}`).toBe(true);
      if (number !== undefined) expect(ours.get(valueName), `${name}.${valueName}`).toBe(Number(number));
    }
  });

  it("messages the reference names without showing exist", () => {
    for (const n of [
      "UpdateRunnerRequest",
      "DeleteRunnerRequest",
      "StopRunnerRequest",
      "RestartRunnerRequest",
      "RunnerMetrics",
      "ProjectConfig",
      "SessionMetadata",
      "SystemMetrics",
      "ComponentStatus",
    ])
      expect(messages.has(PKG + n), n).toBe(true);
    for (const n of ["SessionStatus", "EventType", "TranscriptFormat", "ComponentType", "ProjectStatus"])
      expect(enums.has(PKG + n), n).toBe(true);
  });
});
