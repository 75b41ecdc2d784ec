import { type CallOptions, callOrThrow, connectCallOptions, type StreamCallOptions } from "@baton/core";
import { HealthCheckResponse_ServingStatus, type Health as HealthService } from "@baton/wire/baaaht/grpc-health";
import type { Client } from "@connectrpc/connect";
import { resumeLatest } from "./resume.js";
import { type StreamSettings, streamCall } from "./stream-settings.js";

/** A `grpc.health.v1` serving status by name. */
export type ServingStatus = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

function statusName(s: HealthCheckResponse_ServingStatus): ServingStatus {
  return (HealthCheckResponse_ServingStatus[s] ?? "UNKNOWN") as ServingStatus;
}

/** The standard gRPC health service: `check` and `watch` per service name ("" = the server). */
export class HealthApi {
  readonly #raw: Client<typeof HealthService>;
  readonly #settings: StreamSettings;

  /** @internal */
  constructor(raw: Client<typeof HealthService>, settings: StreamSettings) {
    this.#raw = raw;
    this.#settings = settings;
  }

  /**
   * The serving status of a service (`""`: the whole server).
   *
   * @throws {NotFoundError} for a service the server does not know.
   */
  async check(service = "", options: CallOptions = {}): Promise<ServingStatus> {
    const res = await callOrThrow(() => this.#raw.check({ service }, connectCallOptions(options)));
    return statusName(res.status);
  }

  /**
   * The current status, then every change, as an `AsyncIterable`; `break` cancels. A dropped
   * connection, or a server that ends the watch (it went away: a restart), is reopened; the
   * status it starts with is skipped when it is the last one delivered.
   */
  watch(service = "", options: StreamCallOptions = {}): AsyncIterable<ServingStatus> {
    const raw = this.#raw;
    return resumeLatest(
      this.#settings,
      async function* (signal) {
        for await (const res of raw.watch({ service }, streamCall(options, signal))) yield statusName(res.status);
      },
      options.signal,
    );
  }
}
