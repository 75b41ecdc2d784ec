import { BatonClient, type ClientDefaults, type ClientOptions, createRawClient } from "@baton/core";
import { DaemonService, ProjectService, RunnerService, SessionService } from "@baton/wire/stratavore";
import type { Client } from "@connectrpc/connect";
import { Daemon } from "./daemon.js";
import { Projects } from "./projects.js";
import { Runners } from "./runners.js";
import { Sessions } from "./sessions.js";

/** Stratavore's documented endpoint. */
export const DEFAULT_STRATAVORE_ADDRESS = "localhost:50051";
/** The environment variable that overrides it. */
export const STRATAVORE_ADDRESS_ENV = "STRATAVORE_ADDR";

const STRATAVORE_DEFAULTS: ClientDefaults = { address: DEFAULT_STRATAVORE_ADDRESS, env: STRATAVORE_ADDRESS_ENV };

/**
 * Options of {@link StratavoreClient}: core's. Auth is mTLS (`tls: { ca, cert, key }`) or a
 * JWT bearer (`token`: a string or a function called per call), or both.
 */
export interface StratavoreClientOptions extends ClientOptions {}

/** The raw generated clients, one per service. */
export interface StratavoreRaw {
  /** `stratavore.v1.RunnerService`: create, get, list, update, stop, restart and delete runners, and stream their events. */
  runners: Client<typeof RunnerService>;
  /** `stratavore.v1.ProjectService`: create, get, list, update and delete projects. */
  projects: Client<typeof ProjectService>;
  /** `stratavore.v1.SessionService`: sessions, their transcripts, and resuming one on a new runner. */
  sessions: Client<typeof SessionService>;
  /** `stratavore.v1.DaemonService`: daemon status, metrics, health and reconcile. */
  daemon: Client<typeof DaemonService>;
}

/**
 * The Stratavore client: `runners`, `projects`, `sessions`, `daemon`.
 *
 * @example
 * ```ts
 * await using sv = new StratavoreClient({ address: "localhost:50051", token: jwt });
 * const { handle } = await sv.runners.create({ projectName: "my-project", model: "claude-3-sonnet" });
 * await handle.waitFor(RunnerStatus.RUNNING);
 * ```
 */
export class StratavoreClient extends BatonClient {
  /** The generated Connect clients. */
  readonly raw: StratavoreRaw;
  /** Runners: lifecycle, events, handles. */
  readonly runners: Runners;
  /** Projects. */
  readonly projects: Projects;
  /** Sessions and transcripts. */
  readonly sessions: Sessions;
  /** The daemon: status, metrics, health, reconcile. */
  readonly daemon: Daemon;

  constructor(options: StratavoreClientOptions = {}) {
    super(options, STRATAVORE_DEFAULTS);
    const t = this.connection.transport;
    this.raw = {
      runners: createRawClient(RunnerService, t),
      projects: createRawClient(ProjectService, t),
      sessions: createRawClient(SessionService, t),
      daemon: createRawClient(DaemonService, t),
    };
    this.runners = new Runners(this.raw.runners, this.connection);
    this.projects = new Projects(this.raw.projects);
    this.sessions = new Sessions(this.raw.sessions);
    this.daemon = new Daemon(this.raw.daemon);
  }
}
