import { type CallOptions, callOrThrow, connectCallOptions } from "@baton/core";
import type {
  ComponentType,
  DaemonService,
  GetMetricsResponse,
  GetStatusResponse,
  HealthCheckResponse,
  ReconcileResponse,
} from "@baton/wire/stratavore";
import type { Client } from "@connectrpc/connect";
import { surfaceErrorInfo } from "./errors.js";

/** `stratavore.v1.DaemonService`, idiomatically. */
export class Daemon {
  readonly #raw: Client<typeof DaemonService>;

  constructor(raw: Client<typeof DaemonService>) {
    this.#raw = raw;
  }

  /** Status: uptime, version, counts, components. */
  status(options: CallOptions & { detailed?: boolean; component?: ComponentType } = {}): Promise<GetStatusResponse> {
    return callOrThrow(
      () =>
        this.#raw.getStatus(
          { includeDetailed: options.detailed ?? false, component: options.component ?? 0 },
          connectCallOptions(options),
        ),
      surfaceErrorInfo,
    );
  }

  /** Host and daemon metrics. */
  metrics(options: CallOptions & { includeRunners?: boolean } = {}): Promise<GetMetricsResponse> {
    return callOrThrow(
      () => this.#raw.getMetrics({ includeRunners: options.includeRunners ?? false }, connectCallOptions(options)),
      surfaceErrorInfo,
    );
  }

  /** Whether the daemon serves. */
  health(options: CallOptions & { component?: string } = {}): Promise<HealthCheckResponse> {
    return callOrThrow(
      () => this.#raw.healthCheck({ component: options.component ?? "" }, connectCallOptions(options)),
      surfaceErrorInfo,
    );
  }

  /** Marks runners whose process died FAILED; answers what changed. Needs role `stratavore:admin`. */
  reconcile(options: CallOptions & { dryRun?: boolean; projectName?: string } = {}): Promise<ReconcileResponse> {
    return callOrThrow(
      () =>
        this.#raw.reconcile(
          { dryRun: options.dryRun ?? false, projectName: options.projectName ?? "" },
          connectCallOptions(options),
        ),
      surfaceErrorInfo,
    );
  }
}
