import { type CallOptions, callOrThrow, connectCallOptions, PagedList } from "@baton/core";
import {
  type Container,
  type ContainerConfigSchema,
  ContainerState,
  type OrchestratorService,
  Status,
} from "@baton/wire/baaaht";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { ContainerHandle, type RemoveContainerOptions, type StopContainerOptions } from "./container-handle.js";
import { createdId, defined, type EnumInput, enumValue } from "./input.js";

type Orchestrator = Client<typeof OrchestratorService>;

/** Filters of `containers.list()`; unset fields match everything. */
export interface ListContainersInput {
  /** Only containers of this session. */
  sessionId?: string;
  /** Only containers in this state (`"RUNNING"`, `"EXITED"`... or the enum value). */
  state?: EnumInput<typeof ContainerState>;
  /** Only containers with this status (`"RUNNING"`... or the enum value). */
  status?: EnumInput<typeof Status>;
  /** Only containers carrying all these labels. */
  labels?: Record<string, string>;
}

/**
 * The `containers` resource: `create()` (in a session) returns a {@link ContainerHandle};
 * `get`, `list`, `stop` and `remove` work by id; `getHandle(id)` makes a handle without a call.
 */
export class Containers {
  readonly #raw: Orchestrator;

  /** @internal */
  constructor(raw: Orchestrator) {
    this.#raw = raw;
  }

  /**
   * Creates a container in a session and starts it; returns its handle.
   *
   * @throws {PermissionDeniedError} when the session's allowed_images excludes the image.
   * @throws {ResourceExhaustedError} beyond the session's max_containers or resource limits.
   * @throws {FailedPreconditionError} when the session is closed.
   * @throws {NotFoundError} when the session does not exist.
   * @throws {ProtocolError} when the server's answer has no container id.
   */
  async create(
    sessionId: string,
    config: MessageInitShape<typeof ContainerConfigSchema>,
    options: CallOptions = {},
  ): Promise<ContainerHandle> {
    const res = await callOrThrow(() => this.#raw.createContainer({ sessionId, config }, connectCallOptions(options)));
    return this.getHandle(createdId(res.containerId, res.container, "container id"));
  }

  /**
   * Gets a container.
   *
   * @throws {NotFoundError} when it does not exist (or was removed).
   */
  get(containerId: string, options: CallOptions = {}): Promise<Container> {
    return this.getHandle(containerId).get(options);
  }

  /**
   * Lists containers matching the filter (the server answers every match in one page).
   *
   * @throws {InvalidArgumentError} for an unknown state or status name, on the first await or iteration.
   */
  list(filter: ListContainersInput = {}, options: CallOptions = {}): PagedList<Container> {
    return PagedList.single(async () => {
      const state = enumValue(ContainerState, filter.state, "container state");
      const status = enumValue(Status, filter.status, "status");
      const res = await callOrThrow(() =>
        this.#raw.listContainers(
          {
            filter: defined({ sessionId: filter.sessionId, state, status, labels: filter.labels }),
          },
          connectCallOptions(options),
        ),
      );
      return res.containers;
    });
  }

  /** Stops a container; see {@link ContainerHandle.stop}. */
  stop(containerId: string, input: StopContainerOptions = {}, options: CallOptions = {}): Promise<ContainerState> {
    return this.getHandle(containerId).stop(input, options);
  }

  /** Removes a container; see {@link ContainerHandle.remove}. */
  remove(containerId: string, input: RemoveContainerOptions = {}, options: CallOptions = {}): Promise<void> {
    return this.getHandle(containerId).remove(input, options);
  }

  /** A handle on a container by id; makes no call (an unknown id fails on first use). */
  getHandle(containerId: string): ContainerHandle {
    return new ContainerHandle(this.#raw, containerId);
  }
}
