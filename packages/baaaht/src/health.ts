import { type CallOptions, callOrThrow, connectCallOptions, streamOrThrow } from "@baton/core";
import { HealthCheckResponse_ServingStatus, type Health as HealthService } from "@baton/wire/baaaht/grpc-health";
import type { Client } from "@connectrpc/connect";

/** A `grpc.health.v1` serving status by name. */
export type ServingStatus = "UNKNOWN" | "SERVING" | "NOT_SERVING" | "SERVICE_UNKNOWN";

function statusName(s: HealthCheckResponse_ServingStatus): ServingStatus {
  return (HealthCheckResponse_ServingStatus[s] ?? "UNKNOWN") as ServingStatus;
}

/** Options of {@link HealthApi.watch}. */
export interface WatchOptions {
  /** Cancels the watch. */
  signal?: AbortSignal;
}

/** The standard gRPC health service: `check` and `watch` per service name ("" = the server). */
export class HealthApi {
  readonly #raw: Client<typeof HealthService>;

  /** @internal */
  constructor(raw: Client<typeof HealthService>) {
    this.#raw = raw;
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

  /** The current status, then every change, as an `AsyncIterable`; `break` cancels. */
  watch(service = "", options: WatchOptions = {}): AsyncIterable<ServingStatus> {
    const raw = this.#raw;
    return {
      async *[Symbol.asyncIterator]() {
        for await (const res of streamOrThrow(
          raw.watch({ service }, options.signal ? { signal: options.signal } : {}),
        )) {
          yield statusName(res.status);
        }
      },
    };
  }
}
