import { type CallOptions, callOrThrow, connectCallOptions, PagedList, required } from "@baton/core";
import type { Project, ProjectService, ProjectStatus } from "@baton/wire/stratavore";
import type { Client } from "@connectrpc/connect";
import { int32, offsetOf } from "./convert.js";
import { surfaceErrorInfo } from "./errors.js";
import { type QuotaInput, toQuota } from "./runners.js";

/** Runner defaults of a project. */
export interface ProjectConfigInput {
  defaultModel?: string;
  defaultTemperature?: number;
  defaultMaxTokens?: number;
  /** Environment of the runners' processes. */
  environment?: Record<string, string>;
}

/** What {@link Projects.create} takes. */
export interface CreateProjectInput {
  name: string;
  description?: string;
  /** The working directory (absolute). */
  path?: string;
  quota?: QuotaInput;
  config?: ProjectConfigInput;
  metadata?: Record<string, string>;
}

/** What {@link Projects.update} changes; unset fields stay. */
export interface UpdateProjectInput {
  description?: string;
  path?: string;
  status?: ProjectStatus;
  quota?: QuotaInput;
  config?: ProjectConfigInput;
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
  ): Promise<{ project: Project; warnings: string[] }> {
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
