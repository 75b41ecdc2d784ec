import { readFileSync } from "node:fs";
import { BAAAHT_SOCKET_ENV, BaaahtClient, DEFAULT_BAAAHT_ADDRESS } from "@baton/baaaht";
import { DEFAULT_EDGEMESH_ADDRESS, EDGEMESH_ADDRESS_ENV, EdgemeshClient } from "@baton/edgemesh";
import { DEFAULT_ORCA_ADDRESS, ORCA_ADDRESS_ENV, OrcaClient } from "@baton/orca";
import { DEFAULT_PORTARIUM_ADDRESS, PORTARIUM_ADDRESS_ENV, PortariumClient } from "@baton/portarium";
import { DEFAULT_STRATAVORE_ADDRESS, STRATAVORE_ADDRESS_ENV, StratavoreClient } from "@baton/stratavore";
import { UsageError } from "./exit-codes.js";
import type { Clients, FlagSpecs, FlagValues, SystemName } from "./spec.js";

/** Flags every verb of every system takes. */
export const GLOBAL_FLAGS: FlagSpecs = {
  address: { type: "string", value: "ADDR", description: "the server: host:port, http(s)://host:port or unix:///path" },
  token: { type: "string", value: "T", description: "bearer token (default: the system's token variable)" },
  ca: {
    type: "string",
    value: "FILE",
    description: "TLS: trust this CA certificate (PEM) instead of the system roots",
  },
  cert: { type: "string", value: "FILE", description: "mutual TLS: the client certificate (PEM), with --key" },
  key: { type: "string", value: "FILE", description: "mutual TLS: the client private key (PEM), with --cert" },
  "server-name": { type: "string", value: "NAME", description: "TLS: the server name to send and verify" },
  "timeout-ms": {
    type: "string",
    value: "N",
    description: "deadline of each call in ms (0: none); with --wait, of the whole wait",
  },
  output: { type: "string", value: "json|table", description: "json (default when stdout is not a terminal) or table" },
  help: { type: "boolean", short: "h", description: "show help" },
};

/** Flags of the gRPC systems (all but Portarium). */
const GRPC_FLAGS: FlagSpecs = {
  protocol: { type: "string", value: "P", description: "grpc (default), connect or grpc-web" },
};

/** What `baton` knows about a system: its help, defaults and how to open its client. */
export interface SystemSpec<S extends SystemName = SystemName> {
  /** The system. */
  name: S;
  /** One line for `baton --help`. */
  summary: string;
  /** The address when neither `--address` nor {@link SystemSpec.addressEnv} says. */
  defaultAddress: string;
  /** The environment variable with the address (the client's own). */
  addressEnv: string;
  /** The environment variable with the token, when `--token` is not given. */
  tokenEnv: string;
  /** Flags of this system's verbs besides {@link GLOBAL_FLAGS}. */
  flags: FlagSpecs;
  /** Opens the client from the command line's flags and the environment. */
  open(flags: FlagValues, env: Record<string, string | undefined>): Clients[S];
}

/** The options every client shares, from the global flags. @throws {UsageError} on bad values. */
function commonOptions(flags: FlagValues, env: Record<string, string | undefined>, tokenEnv: string) {
  const read = (flag: string): Buffer | undefined => {
    const path = flags.string(flag);
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new UsageError(`--${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  };
  if (flags.has("cert") !== flags.has("key")) throw new UsageError("--cert and --key go together");
  const ca = read("ca");
  const cert = read("cert");
  const key = read("key");
  const serverName = flags.string("server-name");
  const tls =
    ca || cert || key || serverName
      ? {
          ...(ca ? { ca } : {}),
          ...(cert ? { cert } : {}),
          ...(key ? { key } : {}),
          ...(serverName ? { serverName } : {}),
        }
      : undefined;
  const token = flags.string("token") ?? (env[tokenEnv] || undefined);
  const address = flags.string("address");
  const timeoutMs = flags.int("timeout-ms");
  return {
    ...(address !== undefined ? { address } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(tls ? { tls } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  };
}

function grpcOptions(flags: FlagValues, env: Record<string, string | undefined>, tokenEnv: string) {
  const protocol = flags.choice("protocol", ["grpc", "connect", "grpc-web"] as const);
  return { ...commonOptions(flags, env, tokenEnv), ...(protocol ? { protocol } : {}) };
}

/** The spec of a gRPC system: its flags are {@link GRPC_FLAGS}, its token variable `$<NAME>_TOKEN`. */
function grpcSystem<S extends SystemName>(
  name: S,
  summary: string,
  defaultAddress: string,
  addressEnv: string,
  make: (options: ReturnType<typeof grpcOptions>) => Clients[S],
): SystemSpec<S> {
  const tokenEnv = `${name.toUpperCase()}_TOKEN`;
  return {
    name,
    summary,
    defaultAddress,
    addressEnv,
    tokenEnv,
    flags: GRPC_FLAGS,
    open: (flags, env) => make(grpcOptions(flags, env, tokenEnv)),
  };
}

const orca = grpcSystem(
  "orca",
  "ORCA: runs with budgets, tasks, events and results",
  DEFAULT_ORCA_ADDRESS,
  ORCA_ADDRESS_ENV,
  (o) => new OrcaClient(o),
);

const baaaht = grpcSystem(
  "baaaht",
  "baaaht: sessions, containers and events (Unix socket by default)",
  DEFAULT_BAAAHT_ADDRESS,
  BAAAHT_SOCKET_ENV,
  (o) => new BaaahtClient(o),
);

const portarium: SystemSpec<"portarium"> = {
  name: "portarium",
  summary: "Portarium: workflows, runs, approvals and machine invocations (REST)",
  defaultAddress: DEFAULT_PORTARIUM_ADDRESS,
  addressEnv: PORTARIUM_ADDRESS_ENV,
  tokenEnv: "PORTARIUM_TOKEN",
  flags: {
    workspace: { type: "string", value: "ID", description: "the workspace (default $PORTARIUM_WORKSPACE)" },
    "client-id": {
      type: "string",
      value: "ID",
      description: "service-account client id, with --client-secret (default $PORTARIUM_CLIENT_ID)",
    },
    "client-secret": {
      type: "string",
      value: "S",
      description: "service-account client secret (default $PORTARIUM_CLIENT_SECRET)",
    },
  },
  open(flags, env) {
    const { token, ...common } = commonOptions(flags, env, "PORTARIUM_TOKEN");
    const clientId = flags.string("client-id") ?? (env.PORTARIUM_CLIENT_ID || undefined);
    const clientSecret = flags.string("client-secret") ?? (env.PORTARIUM_CLIENT_SECRET || undefined);
    if ((clientId === undefined) !== (clientSecret === undefined))
      throw new UsageError("--client-id and --client-secret go together");
    const workspaceId = flags.string("workspace") ?? (env.PORTARIUM_WORKSPACE || undefined);
    // An explicit --token wins over credentials from the environment.
    const credentials = clientId !== undefined && clientSecret !== undefined && !flags.has("token");
    return new PortariumClient({
      ...common,
      ...(credentials ? { clientCredentials: { clientId, clientSecret } } : token !== undefined ? { token } : {}),
      ...(workspaceId !== undefined ? { workspaceId } : {}),
    });
  },
};

const stratavore = grpcSystem(
  "stratavore",
  "Stratavore: projects and runners",
  DEFAULT_STRATAVORE_ADDRESS,
  STRATAVORE_ADDRESS_ENV,
  (o) => new StratavoreClient(o),
);

const edgemesh = grpcSystem(
  "edgemesh",
  "edgemesh: the devices of a mesh",
  DEFAULT_EDGEMESH_ADDRESS,
  EDGEMESH_ADDRESS_ENV,
  (o) => new EdgemeshClient(o),
);

/** Every system, in the order `baton --help` lists them. */
export const SYSTEMS: { [S in SystemName]: SystemSpec<S> } = { orca, baaaht, portarium, stratavore, edgemesh };
