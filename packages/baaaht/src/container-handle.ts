import { type CallOptions, callOrThrow, connectCallOptions, required } from "@baton/core";
import type { Container, ContainerState, OrchestratorService } from "@baton/wire/baaaht";
import type { Client } from "@connectrpc/connect";
import { msToNs } from "./input.js";

type Orchestrator = Client<typeof OrchestratorService>;

/** What stopping a container takes. */
export interface StopContainerOptions {
  /** How long after SIGTERM the server waits before SIGKILL, ms. Default: the server's (10 s). */
  timeoutMs?: number;
}

/** What removing a container takes. */
export interface RemoveContainerOptions {
  /** Remove it even while it runs (it is killed). Default false. */
  force?: boolean;
}

/**
 * A handle on one container: `containers.create()` returns one, `containers.getHandle(id)`
 * makes one for an id without a call.
 */
export class ContainerHandle {
  /** The container id. */
  readonly id: string;
  readonly #raw: Orchestrator;

  /** @internal Use `containers.create()` or `containers.getHandle()`. */
  constructor(raw: Orchestrator, id: string) {
    this.#raw = raw;
    this.id = id;
  }

  /**
   * The container as the server has it now.
   *
   * @throws {NotFoundError} when it does not exist (or was removed).
   * @throws {ProtocolError} when the server's answer has no container.
   */
  async get(options: CallOptions = {}): Promise<Container> {
    const res = await callOrThrow(() => this.#raw.getContainer({ containerId: this.id }, connectCallOptions(options)));
    return required(res.container, "container");
  }

  /**
   * Stops the container: SIGTERM, then SIGKILL after `timeoutMs`. Returns the state it ended in.
   *
   * @throws {InvalidArgumentError} when `timeoutMs` is negative or not finite.
   * @throws {NotFoundError} when it does not exist.
   */
  async stop(input: StopContainerOptions = {}, options: CallOptions = {}): Promise<ContainerState> {
    const timeoutNs = input.timeoutMs === undefined ? 0n : msToNs(input.timeoutMs, "timeoutMs");
    const res = await callOrThrow(() =>
      this.#raw.stopContainer({ containerId: this.id, timeoutNs }, connectCallOptions(options)),
    );
    return res.state;
  }

  /**
   * Removes the container.
   *
   * @throws {FailedPreconditionError} when it is running and `force` is not set.
   */
  async remove(input: RemoveContainerOptions = {}, options: CallOptions = {}): Promise<void> {
    await callOrThrow(() =>
      this.#raw.removeContainer({ containerId: this.id, force: input.force ?? false }, connectCallOptions(options)),
    );
  }
}
