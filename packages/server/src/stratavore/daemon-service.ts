import * as os from "node:os";
import {
  ComponentStatusSchema,
  ComponentType,
  DaemonMetricsSchema,
  type DaemonService,
  DaemonStatusSchema,
  GetMetricsResponseSchema,
  GetStatusResponseSchema,
  HealthCheckResponseSchema,
  HealthStatus,
  ReconcileActionSchema,
  ReconcileResponseSchema,
  type SystemMetrics,
  SystemMetricsSchema,
} from "@baton/wire/stratavore";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { VERSION as PACKAGE_VERSION } from "../version.js";
import { Role, type RoleName } from "./auth.js";
import { invalid } from "./errors.js";
import type { RequestCounters } from "./guard.js";
import type { StratavoreState } from "./state.js";

/** The role each DaemonService rpc needs. */
export const daemonRoles: Record<keyof ServiceImpl<typeof DaemonService>, RoleName> = {
  getStatus: Role.read,
  getMetrics: Role.read,
  healthCheck: Role.read,
  reconcile: Role.admin,
};

/** The version GetStatus reports: baton-server's own. */
export const VERSION = `baton-server ${PACKAGE_VERSION}`;

/** What the daemon service reads besides the state. */
export interface DaemonContext {
  state: StratavoreState;
  counters: RequestCounters;
  startedAtMs: number;
  now: () => number;
  /** Whether JWT checks are on, and mutual TLS (reported by the auth component). */
  auth: { jwt: boolean };
  /** True once the server is shutting down. */
  closing: AbortSignal;
}

/** `stratavore.v1.DaemonService`: status, metrics from node:os and the counters, health, reconcile. */
export function daemonService(d: DaemonContext): ServiceImpl<typeof DaemonService> {
  const uptimeSeconds = () => BigInt(Math.floor((d.now() - d.startedAtMs) / 1000));
  const components = (detailed: boolean) => {
    const at = timestampFromMs(d.now());
    const active = d.state.activeRunnerIds().length;
    const all = {
      runtime: create(ComponentStatusSchema, {
        type: ComponentType.RUNTIME,
        healthy: true,
        state: d.state.runtime.kind,
        message: d.state.runtime.description,
        details: detailed ? { active_runners: String(active) } : {},
        lastChecked: at,
      }),
      store: create(ComponentStatusSchema, {
        type: ComponentType.STORE,
        healthy: true,
        state: "ok",
        message: "in-memory store: state lasts as long as the server",
        details: detailed ? { projects: String(d.state.projectCount) } : {},
        lastChecked: at,
      }),
      event_bus: create(ComponentStatusSchema, {
        type: ComponentType.EVENT_BUS,
        healthy: true,
        state: "ok",
        message: "in-process event log with replay",
        details: detailed
          ? {
              subscribers: String(d.state.events.subscribers),
              oldest_retained: `evt-${d.state.events.oldestSeq()}`,
            }
          : {},
        lastChecked: at,
      }),
      auth: create(ComponentStatusSchema, {
        type: ComponentType.AUTH,
        healthy: true,
        state: d.auth.jwt ? "jwt" : "disabled",
        message: d.auth.jwt
          ? "bearer JWTs are verified (signature, exp, nbf, audience) and roles checked"
          : "no JWT setting: calls are not checked for tokens (mutual TLS, if on, is checked by the listener)",
        lastChecked: at,
      }),
    };
    return all;
  };
  const typeKey: Record<number, keyof ReturnType<typeof components>> = {
    [ComponentType.RUNTIME]: "runtime",
    [ComponentType.STORE]: "store",
    [ComponentType.EVENT_BUS]: "event_bus",
    [ComponentType.AUTH]: "auth",
  };
  return {
    async getStatus(req) {
      if (ComponentType[req.component] === undefined) throw invalid("component", `unknown component ${req.component}`);
      const all = components(req.includeDetailed);
      const key = typeKey[req.component];
      const picked = req.component === ComponentType.UNSPECIFIED || !key ? all : { [key]: all[key] };
      const healthy = !d.closing.aborted && Object.values(picked).every((c) => c.healthy);
      return create(GetStatusResponseSchema, {
        daemonStatus: create(DaemonStatusSchema, {
          healthy,
          activeRunners: d.state.activeRunnerIds().length,
          totalProjects: d.state.projectCount,
          uptime: timestampFromMs(d.startedAtMs),
          version: VERSION,
          uptimeSeconds: uptimeSeconds(),
        }),
        components: picked,
        systemMetrics: systemMetrics(),
        lastUpdated: timestampFromMs(d.now()),
      });
    },
    async getMetrics(req) {
      const c = d.state.counters;
      const runnerMetrics = req.includeRunners
        ? Object.fromEntries(d.state.activeRunnerIds().map((id) => [id, d.state.runnerMetrics(id)]))
        : {};
      return create(GetMetricsResponseSchema, {
        systemMetrics: systemMetrics(),
        daemonMetrics: create(DaemonMetricsSchema, {
          requestsTotal: d.counters.requestsTotal,
          requestsFailed: d.counters.requestsFailed,
          runnersCreated: c.runnersCreated,
          runnersFailed: c.runnersFailed,
          eventsPublished: c.eventsPublished,
          tokensUsed: c.tokensUsed,
          activeStreams: d.counters.activeStreams,
          uptimeSeconds: uptimeSeconds(),
        }),
        runnerMetrics,
        collectedAt: timestampFromMs(d.now()),
      });
    },
    async healthCheck(req) {
      const all = components(false);
      if (req.component !== "" && !(req.component in all))
        throw invalid("component", `unknown component ${req.component}: one of ${Object.keys(all).join(", ")}`);
      const serving = !d.closing.aborted;
      return create(HealthCheckResponseSchema, {
        status: serving ? HealthStatus.SERVING : HealthStatus.NOT_SERVING,
        message: serving ? "serving" : "shutting down",
        checkedAt: timestampFromMs(d.now()),
      });
    },
    async reconcile(req) {
      const { checked, actions } = d.state.reconcile(req.dryRun, req.projectName);
      return create(ReconcileResponseSchema, {
        actions: actions.map((a) =>
          create(ReconcileActionSchema, {
            runnerId: a.runner.id,
            projectName: a.runner.projectName,
            previousStatus: a.from,
            status: a.to,
            reason: a.reason,
          }),
        ),
        runnersChecked: checked,
        completedAt: timestampFromMs(d.now()),
        dryRun: req.dryRun,
      });
    },
  };
}

function systemMetrics(): SystemMetrics {
  const mb = (n: number) => BigInt(Math.round(n / (1024 * 1024)));
  return create(SystemMetricsSchema, {
    cpuCount: os.cpus().length,
    loadAverage1m: os.loadavg()[0] ?? 0,
    memoryTotalMb: mb(os.totalmem()),
    memoryFreeMb: mb(os.freemem()),
    processRssMb: mb(process.memoryUsage.rss()),
    hostUptimeSeconds: BigInt(Math.floor(os.uptime())),
    platform: `${os.platform()}-${os.arch()}`,
  });
}
