import { type CallOptions, callOrThrow, connectCallOptions, PagedList, required } from "@baton/core";
import type { Project, ProjectService, ProjectStatus } from "@baton/wire/stratavore";
import type { Client } from "@connectrpc/connect";
import { int32, offsetOf } from "./convert.js";
import { surfaceErrorInfo } from "./errors.js";
import { type QuotaInput, toQuota } from "./runners.js";

/** Runner defaults of a project. */
export interface ProjectConfigInput {
  /** The model of runners created without one; must be one the server knows (else InvalidArgumentError). */
  defaultModel?: string;
  /** The temperature of runners created without one (0 to the server's maximum, default 1). */
  defaultTemperature?: number;
  /** The `maxTokens` of runners created without one; unset or 0: 4096. */
  defaultMaxTokens?: number;
  /** Environment of the runners' processes. */
  environment?: Record<string, string>;
}

/** What {@link Projects.create} takes. */
export interface CreateProjectInput {
  /** The project's unique name, its id in every other call. */
  name: string;
  /** Free text for people. */
  description?: string;
  /** The working directory (absolute). */
  path?: string;
  /** Limits on the project's runners; unset or 0 fields are unlimited (the server warns). */
  quota?: QuotaInput;
  /** Defaults for the project's runners. */
  config?: ProjectConfigInput;
  /** Free-form labels. */
  metadata?: Record<string, string>;
}

/** What {@link Projects.update} changes; unset fields stay. */
export interface UpdateProjectInput {
  /** New description. */
  description?: string;
  /** New working directory (absolute); runners started afterwards use it. */
  path?: string;
  /** New status: a project that is not ACTIVE refuses new runners (FailedPreconditionError). */
  status?: ProjectStatus;
  /** New quota; replaces the old one. */
  quota?: QuotaInput;
  /** New runner defaults; replaces the old ones. */
  config?: ProjectConfigInput;
  /** Merged into the project's labels; an empty value removes the key. */
  metadata?: Record<string, string>;
}

function toConfig(c: ProjectConfigInput | undefined) {
  if (!c) return {};
  return {
    config: {
      $typeName: "stratavore.v1.ProjectConfig" as const,
      defaultModel: c.defaultModel ?? "",
      defaultTemperature: c.defaultTemperature ?? 0,
      defaultMaxTokens: int32("config.defaultMaxTokens", c.defaultMaxTokens),
      environment: c.environment ?? {},
    },
  };
}

/** `stratavore.v1.ProjectService`, idiomatically. */
export class Projects {
  readonly #raw: Client<typeof ProjectService>;

  constructor(raw: Client<typeof ProjectService>) {
    this.#raw = raw;
  }

  /** Creates a project. @throws {AlreadyExistsError} when the name is taken. */
  async create(
    input: CreateProjectInput,
    options: CallOptions = {},
  ): Promise<{
    /** The project as created. */
    project: Project;
    /** Non-fatal remarks of the server (baton-server: no `path`, no `maxConcurrentRunners`). */
    warnings: string[];
  }> {
    const res = await callOrThrow(async () => {
      const quota = toQuota("quota", input.quota);
      return this.#raw.createProject(
        {
          name: input.name,
          description: input.description ?? "",
          path: input.path ?? "",
          ...(quota ? { quota } : {}),
          ...toConfig(input.config),
          metadata: input.metadata ?? {},
        },
        connectCallOptions(options),
      );
    }, surfaceErrorInfo);
    return { project: required(res.project, "project"), warnings: res.warnings };
  }

  /** A project; `includeStats` adds its statistics. @throws {NotFoundError} */
  async get(name: string, options: CallOptions & { includeStats?: boolean } = {}): Promise<Project> {
    const res = await callOrThrow(
      () => this.#raw.getProject({ name, includeStats: options.includeStats ?? false }, connectCallOptions(options)),
      surfaceErrorInfo,
    );
    return required(res.project, "project");
  }

  /** Projects, page by page. */
  list(
    input: { status?: ProjectStatus; includeStats?: boolean; limit?: number } = {},
    options: CallOptions = {},
  ): PagedList<Project> {
    return new PagedList(async (cursor) => {
      const offset = offsetOf(cursor);
      const res = await callOrThrow(
        () =>
          this.#raw.listProjects(
            {
              status: input.status ?? 0,
              includeStats: input.includeStats ?? false,
              limit: int32("limit", input.limit),
              offset,
            },
            connectCallOptions(options),
          ),
        surfaceErrorInfo,
      );
      const next = offset + res.projects.length;
      return { items: res.projects, ...(res.hasMore && res.projects.length > 0 ? { nextCursor: String(next) } : {}) };
    });
  }

  /** Changes a project. */
  async update(name: string, input: UpdateProjectInput, options: CallOptions = {}): Promise<Project> {
    const res = await callOrThrow(async () => {
      const quota = toQuota("quota", input.quota);
      return this.#raw.updateProject(
        {
          name,
          ...(input.description === undefined ? {} : { description: input.description }),
          ...(input.path === undefined ? {} : { path: input.path }),
          status: input.status ?? 0,
          ...(quota ? { quota } : {}),
          ...toConfig(input.config),
          metadata: input.metadata ?? {},
        },
        connectCallOptions(options),
      );
    }, surfaceErrorInfo);
    return required(res.project, "project");
  }

  /** Deletes a project. @throws {FailedPreconditionError} while it has active runners. */
  async delete(name: string, options: CallOptions = {}): Promise<void> {
    await callOrThrow(() => this.#raw.deleteProject({ name }, connectCallOptions(options)), surfaceErrorInfo);
  }
}
