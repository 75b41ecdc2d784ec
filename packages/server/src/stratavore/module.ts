import { DaemonService, ProjectService, RunnerService, SessionService } from "@baton/wire/stratavore";
import { createJwtVerifier } from "../jwt-verifier.js";
import { type ModuleContext, type ModuleFactory, type ServiceModule, withSettings } from "../module.js";
import { daemonRoles, daemonService } from "./daemon-service.js";
import { guard, type RequestCounters } from "./guard.js";
import { ProcessRuntime, transcriptLine } from "./process-runtime.js";
import { projectRoles, projectService } from "./project-service.js";
import { runnerRoles, runnerService } from "./runner-service.js";
import { RecordRuntime } from "./runtime.js";
import { sessionRoles, sessionService } from "./session-service.js";
import { STRATAVORE_SETTING_DECLARATIONS, stratavoreSettings } from "./settings.js";
import { StratavoreState } from "./state.js";

/** The Stratavore module: `stratavore.v1` Runner, Project, Session and Daemon services. */
export interface StratavoreModule extends ServiceModule {
  /** The state holding the rules (tests reach the runtime through it). */
  readonly state: StratavoreState;
}

/**
 * Creates the Stratavore module. Settings (`--set stratavore.<key>=...`): `runtime`
 * (`record` | `process`), `command`, `models`, `maxTemperature`, `maxTokensLimit`,
 * `eventRetention`, `stopTimeoutMs`, the bounds `maxRunners`, `maxSessions`,
 * `maxTranscriptMessages`, and JWT: `jwtSecret` | `jwtPublicKeyFile` | `jwksFile`,
 * `jwtAudience`, `jwtIssuer`.
 *
 * @throws {Error} when a setting is invalid.
 */
export const createStratavoreModule: ModuleFactory = withSettings((ctx: ModuleContext): StratavoreModule => {
  const settings = stratavoreSettings(ctx.options.settings);
  const now = Date.now;
  const state = new StratavoreState(
    settings,
    (s) =>
      settings.runtime === "process"
        ? new ProcessRuntime(
            settings.command as string,
            {
              output: (id, line) => {
                const m = transcriptLine(line);
                if (m) s.output(id, m);
              },
              exit: (id, info) => s.exited(id, info),
            },
            settings.stopTimeoutMs,
          )
        : new RecordRuntime(),
    now,
  );
  const verify = settings.jwt ? createJwtVerifier(settings.jwt) : undefined;
  const counters: RequestCounters = { requestsTotal: 0n, requestsFailed: 0n, activeStreams: 0 };
  const closing = new AbortController();
  const startedAtMs = now();
  return {
    name: "stratavore",
    state,
    routes(router) {
      router.service(
        RunnerService,
        guard(RunnerService, runnerService(state, closing.signal), runnerRoles, verify, counters),
      );
      router.service(ProjectService, guard(ProjectService, projectService(state), projectRoles, verify, counters));
      router.service(SessionService, guard(SessionService, sessionService(state), sessionRoles, verify, counters));
      router.service(
        DaemonService,
        guard(
          DaemonService,
          daemonService({
            state,
            counters,
            startedAtMs,
            now,
            auth: { jwt: verify !== undefined },
            closing: closing.signal,
          }),
          daemonRoles,
          verify,
          counters,
        ),
      );
    },
    async close() {
      closing.abort();
      await state.runtime.close();
    },
  };
}, STRATAVORE_SETTING_DECLARATIONS);
