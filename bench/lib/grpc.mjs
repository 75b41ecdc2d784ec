// The @grpc/grpc-js peer: orca.v1.Orchestrator loaded from the repo's proto with
// @grpc/proto-loader, as a grpc-js user would.
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const protoPath = fileURLToPath(new URL("../../proto/orca/orca/v1/orca_v1.proto", import.meta.url));
const definition = protoLoader.loadSync(protoPath, { longs: String, enums: String, defaults: true });
/** The `orca.v1.Orchestrator` service constructor (client) and definition (server). */
export const Orchestrator = grpc.loadPackageDefinition(definition).orca.v1.Orchestrator;
export { grpc };

/** A grpc-js client of `address` (`host:port`), plaintext. */
export function grpcJsClient(address) {
  return new Orchestrator(address, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": 4 * 1024 * 1024,
  });
}

/** `client[method](request)` as a promise. */
export function unary(client, method, request) {
  return new Promise((resolve, reject) =>
    client[method](request, (err, res) => {
      if (err) reject(err);
      else resolve(res);
    }),
  );
}

/** The task envelope a grpc-js caller sends (what `run.submit({ payload: {} })` sends). */
export function grpcJsEnvelope(id) {
  return {
    id,
    parentId: "",
    traceId: "",
    agent: "",
    kind: "agent_task",
    payloadJson: "{}",
    timeoutMs: "0",
    protocolVersion: 1,
    tsMs: String(Date.now()),
  };
}
