import { type CallOptions, callOrThrow, connectCallOptions, InvalidArgumentError } from "@baton/core";
import type { Status } from "@baton/wire/baaaht";
import {
  type Container,
  type ContainerConfigSchema,
  ContainerState,
  type OrchestratorService,
} from "@baton/wire/baaaht";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { msToNs } from "./shared.js";

type Orchestrator = Client<typeof OrchestratorService>;

/** Filters of `containers.list()`. */
export interface ListContainersInput {
  /** Only containers of this session. */
  sessionId?: string;
  /** Only containers in this state (`"RUNNING"`, `"EXITED"`... or the enum value). */
  state?: ContainerState | keyof typeof ContainerState;
  /** Only containers with this status. */
  status?: Status;
  /** Only containers carrying all these labels. */
  labels?: Record<string, string>;
}

/** The `containers` resource: create (in a session), get, list, stop, remove. */
export class Containers {
  readonly #raw: Orchestrator;

  /** @internal */
  constructor(raw: Orchestrator) {
    this.#raw = raw;
  }

  /**
   * Creates a container in a session and starts it.
   *
   * @throws {PermissionDeniedError} when the session's allowed_images excludes the image.
   * @throws {ResourceExhaustedError} beyond the session's max_containers or resource limits.
   * @throws {FailedPreconditionError} when the session is closed.
   * @throws {NotFoundError} when the session does not exist.
   */
  async create(
    sessionId: string,
    config: MessageInitShape<typeof ContainerConfigSchema>,
    options: CallOptions = {},
  ): Promise<Container> {
    const res = await callOrThrow(() => this.#raw.createContainer({ sessionId, config }, connectCallOptions(options)));
    if (!res.container) throw new InvalidArgumentError("the server returned no container");
    return res.container;
  }

  /**
   * Gets a container.
   *
   * @throws {NotFoundError} when it does not exist (or was removed).
   */
  async get(containerId: string, options: CallOptions = {}): Promise<Container> {
    const res = await callOrThrow(() => this.#raw.getContainer({ containerId }, connectCallOptions(options)));
    if (!res.container) throw new InvalidArgumentError("the server returned no container");
    return res.container;
  }

  /** Lists containers matching the filter. */
  async list(filter: ListContainersInput = {}, options: CallOptions = {}): Promise<Container[]> {
    const state = typeof filter.state === "string" ? ContainerState[filter.state] : filter.state;
    const res = await callOrThrow(() =>
      this.#raw.listContainers(
        {
          filter: {
            ...(filter.sessionId ? { sessionId: filter.sessionId } : {}),
            ...(state !== undefined ? { state } : {}),
            ...(filter.status !== undefined ? { status: filter.status } : {}),
            ...(filter.labels ? { labels: filter.labels } : {}),
          },
        },
        connectCallOptions(options),
      ),
    );
    return res.containers;
  }

  /**
   * Stops a container: SIGTERM, then SIGKILL after `timeoutMs` (default: the server's, 10 s).
   * Returns the state it ended in.
   */
  async stop(containerId: string, timeoutMs?: number, options: CallOptions = {}): Promise<ContainerState> {
    const res = await callOrThrow(() =>
      this.#raw.stopContainer(
        { containerId, timeoutNs: timeoutMs === undefined ? 0n : msToNs(timeoutMs) },
        connectCallOptions(options),
      ),
    );
    return res.state;
  }

  /**
   * Removes a container.
   *
   * @throws {FailedPreconditionError} when it is running and `force` is not set.
   */
  async remove(containerId: string, force = false, options: CallOptions = {}): Promise<void> {
    await callOrThrow(() => this.#raw.removeContainer({ containerId, force }, connectCallOptions(options)));
  }
}
