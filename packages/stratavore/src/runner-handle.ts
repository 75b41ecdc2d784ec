import { type CallOptions, callOrThrow, connectCallOptions, FailedPreconditionError, required } from "@baton/core";
import { type Runner, type RunnerService, RunnerStatus } from "@baton/wire/stratavore";
import type { Client } from "@connectrpc/connect";
import { surfaceErrorInfo } from "./errors.js";
import type { Runners } from "./runners.js";

/** Statuses a runner does not leave on its own. */
const FINAL = new Set([RunnerStatus.TERMINATED, RunnerStatus.FAILED]);

/** A runner by id (no call is made to get one): its verbs and `waitFor`. */
export class RunnerHandle {
  /** The runner's id. */
  readonly id: string;
  readonly #runners: Runners;
  readonly #raw: Client<typeof RunnerService>;

  constructor(id: string, runners: Runners, raw: Client<typeof RunnerService>) {
    this.id = id;
    this.#runners = runners;
    this.#raw = raw;
  }

  /** The runner now. @throws {NotFoundError} when it does not exist. */
  async get(options: CallOptions = {}): Promise<Runner> {
    return (await this.#runners.get(this.id, options)).runner;
  }

  /** Stops it (STOPPING, then TERMINATED). */
  stop(options: CallOptions & { force?: boolean; reason?: string } = {}): Promise<Runner> {
    return this.#runners.stop(this.id, options);
  }

  /** Restarts it. */
  restart(options: CallOptions & { newSession?: boolean } = {}): Promise<Runner> {
    return this.#runners.restart(this.id, options);
  }

  /**
   * Resolves with the runner once it is in `status`, following its events (no polling; the
   * runner is read once, then again only when an event changes its status to `status` or
   * a final one).
   *
   * @throws {FailedPreconditionError} when it ends (TERMINATED or FAILED) in another status.
   * @throws {CanceledError} when `signal` aborts.
   */
  async waitFor(status: RunnerStatus, options: { signal?: AbortSignal } = {}): Promise<Runner> {
    const check = async () => {
      const r = required(
        (
          await callOrThrow(
            () => this.#raw.getRunner({ runnerId: this.id }, connectCallOptions(options)),
            surfaceErrorInfo,
          )
        ).runner,
        "runner",
      );
      if (r.status === status) return r;
      if (FINAL.has(r.status) && !FINAL.has(status))
        throw new FailedPreconditionError(
          `runner ${this.id} is ${RunnerStatus[r.status]} (${r.statusReason}) and will not become ${RunnerStatus[status]}`,
        );
      if (FINAL.has(r.status) && FINAL.has(status))
        throw new FailedPreconditionError(
          `runner ${this.id} ended ${RunnerStatus[r.status]}, not ${RunnerStatus[status]}`,
        );
      return undefined;
    };
    const now = await check();
    if (now) return now;
    // The runner's retained events from the start: a change made before the stream opened
    // is in the replay, so none is missed. Only a change to the awaited or a final status
    // (or an event this client cannot read) is a cue to read the runner again: updates,
    // transcripts and quota events are not, so a long history costs no GetRunner per event.
    for await (const e of this.#runners.events({
      runnerId: this.id,
      fromStart: true,
      ...(options.signal ? { signal: options.signal } : {}),
    })) {
      const p = e.payload;
      if (p?.$typeName === "stratavore.v1.RunnerStateChange") {
        if (p.status !== status && !FINAL.has(p.status)) continue;
      } else if (p !== undefined && p.$typeName !== "stratavore.v1.RunnerFailure") {
        continue;
      }
      const r = await check();
      if (r) return r;
    }
    throw new FailedPreconditionError(`the event stream of runner ${this.id} ended`);
  }
}
