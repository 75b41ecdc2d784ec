import { type CallOptions, type Connection, callOrThrow, connectCallOptions, PagedList, required } from "@baton/core";
import type {
  ResourceQuota,
  Runner,
  RunnerMetrics,
  RunnerService,
  RunnerStatus,
  Session,
} from "@baton/wire/stratavore";
import type { Client } from "@connectrpc/connect";
import { int32, int64, offsetOf } from "./convert.js";
import { surfaceErrorInfo } from "./errors.js";
import { type EventFilter, followEvents, type StratavoreEvent } from "./events.js";
import { RunnerHandle } from "./runner-handle.js";

/** A quota: 0 or unset means unlimited. */
export interface QuotaInput {
  /** Runners of the project that may be active (STARTING, RUNNING, PAUSED, STOPPING) at once; int32. */
  maxConcurrentRunners?: number;
  /** Memory a runner's process may use, MB; int64. */
  maxMemoryMb?: number | bigint;
  /** CPU one runner's process may use, percent; int32. */
  maxCpuPercent?: number;
  /** Tokens the project's runners may use per day; int64. */
  maxTokensPerDay?: number | bigint;
}

/** What {@link Runners.create} takes. */
export interface CreateRunnerInput {
  /** The project the runner works in; it must exist and be ACTIVE. */
  projectName: string;
  /** claude-3-sonnet, claude-3-opus, claude-3-haiku (or the server's configured models). */
  model?: string;
  /**
   * Sampling temperature, from 0 to the server's maximum (baton-server: `stratavore.maxTemperature`,
   * default 1). Unset or 0: the project's `defaultTemperature`.
   */
  temperature?: number;
  /**
   * Largest response, in tokens: an integer from 1 to the server's limit (baton-server:
   * `stratavore.maxTokensLimit`, default 200000). Unset or 0: the project's `defaultMaxTokens`, else 4096.
   */
  maxTokens?: number;
  /** Free-form labels on the runner; {@link ListRunnersInput.metadataFilter} matches on them. */
  metadata?: Record<string, string>;
  /** A runtime id to pre-assign (AlreadyExistsError when another runner has it); the server picks one when unset. */
  runtimeId?: string;
  /** A quota of this runner's own (same units as the project's; negative values are refused). */
  quota?: QuotaInput;
}

/** What {@link Runners.list} filters by. */
export interface ListRunnersInput {
  /** Only runners of this project. */
  projectName?: string;
  /** Only runners in this status (unset: any). */
  status?: RunnerStatus;
  /** Only runners whose metadata has every one of these key/value pairs. */
  metadataFilter?: Record<string, string>;
  /** Ask the server to include each runner's metrics. */
  includeMetrics?: boolean;
  /** Page size (the server's default when unset). */
  limit?: number;
}

/** What {@link Runners.update} changes; unset fields stay. */
export interface UpdateRunnerInput {
  /** New sampling temperature, in the same range as {@link CreateRunnerInput.temperature}. */
  temperature?: number;
  /** New largest response, in tokens, in the same range as {@link CreateRunnerInput.maxTokens}. */
  maxTokens?: number;
  /** Merged; an empty value removes the key. */
  metadata?: Record<string, string>;
  /** PAUSED pauses a RUNNING runner; RUNNING resumes a PAUSED one. */
  status?: RunnerStatus;
  /** A new quota for the runner; replaces the old one. */
  quota?: QuotaInput;
}

/** A runner as GetRunner answers it. */
export interface RunnerDetails {
  /** The runner. */
  runner: Runner;
  /** Its performance metrics, when asked for (`includeMetrics`). */
  metrics?: RunnerMetrics;
  /** The session it works in, when asked for (`includeSession`). */
  session?: Session;
}

/** Converts a quota input. */
export function toQuota(field: string, q: QuotaInput | undefined): ResourceQuota | undefined {
  if (!q) return undefined;
  return {
    $typeName: "stratavore.v1.ResourceQuota",
    maxConcurrentRunners: int32(`${field}.maxConcurrentRunners`, q.maxConcurrentRunners),
    maxMemoryMb: int64(`${field}.maxMemoryMb`, q.maxMemoryMb),
    maxCpuPercent: int32(`${field}.maxCpuPercent`, q.maxCpuPercent),
    maxTokensPerDay: int64(`${field}.maxTokensPerDay`, q.maxTokensPerDay),
  };
}

/** `stratavore.v1.RunnerService`, idiomatically. */
export class Runners {
  readonly #raw: Client<typeof RunnerService>;
  readonly #connection: Connection;

  constructor(raw: Client<typeof RunnerService>, connection: Connection) {
    this.#raw = raw;
    this.#connection = connection;
  }

  /**
   * Creates a runner (STARTING; `handle.waitFor(RunnerStatus.RUNNING)` for it to run).
   *
   * @throws {InvalidArgumentError} on an unknown model or an out-of-range temperature or max_tokens.
   * @throws {BudgetExceededError} when the project's `max_concurrent_runners` refuses it (`err.limit`).
   *
   * @example
   * ```ts
   * const { runner, handle, warnings } = await sv.runners.create({ projectName: "demo", model: "claude-3-haiku" });
   * for (const w of warnings) console.warn(w);
   * await handle.waitFor(RunnerStatus.RUNNING);
   * console.log(runner.id, "is running");
   * ```
   */
  async create(
    input: CreateRunnerInput,
    options: CallOptions = {},
  ): Promise<{
    /** The runner as created (status STARTING). */
    runner: Runner;
    /** Non-fatal remarks of the server about the request (e.g. a default it applied). */
    warnings: string[];
    /** A handle on the runner: wait for a status, follow its events, stop it. */
    handle: RunnerHandle;
  }> {
    const res = await callOrThrow(async () => {
      const quota = toQuota("quota", input.quota);
      return this.#raw.createRunner(
        {
          projectName: input.projectName,
          model: input.model ?? "",
          temperature: input.temperature ?? 0,
          maxTokens: int32("maxTokens", input.maxTokens),
          metadata: input.metadata ?? {},
          runtimeId: input.runtimeId ?? "",
          ...(quota ? { quota } : {}),
        },
        connectCallOptions(options),
      );
    }, surfaceErrorInfo);
    const runner = required(res.runner, "runner");
    return { runner, warnings: res.warnings, handle: this.getHandle(runner.id) };
  }

  /** A runner, with its metrics and session when asked. @throws {NotFoundError} */
  async get(
    id: string,
    options: CallOptions & { includeMetrics?: boolean; includeSession?: boolean } = {},
  ): Promise<RunnerDetails> {
    const res = await callOrThrow(
      () =>
        this.#raw.getRunner(
          {
            runnerId: id,
            includeMetrics: options.includeMetrics ?? false,
            includeSession: options.includeSession ?? false,
          },
          connectCallOptions(options),
        ),
      surfaceErrorInfo,
    );
    return {
      runner: required(res.runner, "runner"),
      ...(res.metrics ? { metrics: res.metrics } : {}),
      ...(res.session ? { session: res.session } : {}),
    };
  }

  /** Runners, page by page (offset pagination): await for the first page, `for await` for all. */
  list(input: ListRunnersInput = {}, options: CallOptions = {}): PagedList<Runner> {
    return new PagedList(async (cursor) => {
      const offset = offsetOf(cursor);
      const res = await callOrThrow(
        () =>
          this.#raw.listRunners(
            {
              projectName: input.projectName ?? "",
              status: input.status ?? 0,
              limit: int32("limit", input.limit),
              offset,
              includeMetrics: input.includeMetrics ?? false,
              metadataFilter: input.metadataFilter ?? {},
            },
            connectCallOptions(options),
          ),
        surfaceErrorInfo,
      );
      const next = offset + res.runners.length;
      return { items: res.runners, ...(res.hasMore && res.runners.length > 0 ? { nextCursor: String(next) } : {}) };
    });
  }

  /** Changes a runner. @throws {FailedPreconditionError} on a status change its state forbids. */
  async update(id: string, input: UpdateRunnerInput, options: CallOptions = {}): Promise<Runner> {
    const res = await callOrThrow(async () => {
      const quota = toQuota("quota", input.quota);
      return this.#raw.updateRunner(
        {
          runnerId: id,
          ...(input.temperature === undefined ? {} : { temperature: input.temperature }),
          ...(input.maxTokens === undefined ? {} : { maxTokens: int32("maxTokens", input.maxTokens) }),
          metadata: input.metadata ?? {},
          status: input.status ?? 0,
          ...(quota ? { quota } : {}),
        },
        connectCallOptions(options),
      );
    }, surfaceErrorInfo);
    return required(res.runner, "runner");
  }

  /** Deletes a stopped runner (`force` stops an active one first). @throws {FailedPreconditionError} */
  async delete(id: string, options: CallOptions & { force?: boolean } = {}): Promise<void> {
    await callOrThrow(
      () => this.#raw.deleteRunner({ runnerId: id, force: options.force ?? false }, connectCallOptions(options)),
      surfaceErrorInfo,
    );
  }

  /** Stops a runner; resolves with it TERMINATED. @throws {FailedPreconditionError} when it is not active. */
  async stop(id: string, options: CallOptions & { force?: boolean; reason?: string } = {}): Promise<Runner> {
    const res = await callOrThrow(
      () =>
        this.#raw.stopRunner(
          { runnerId: id, force: options.force ?? false, reason: options.reason ?? "" },
          connectCallOptions(options),
        ),
      surfaceErrorInfo,
    );
    return required(res.runner, "runner");
  }

  /** Restarts a runner (STARTING again). */
  async restart(id: string, options: CallOptions & { newSession?: boolean } = {}): Promise<Runner> {
    const res = await callOrThrow(
      () =>
        this.#raw.restartRunner({ runnerId: id, newSession: options.newSession ?? false }, connectCallOptions(options)),
      surfaceErrorInfo,
    );
    return required(res.runner, "runner");
  }

  /**
   * Runner events with their payloads unpacked; `break` cancels. A dropped stream resumes
   * after the last event seen, without duplicates. Each `for await` opens its own stream,
   * so the result can be iterated more than once.
   */
  events(filter: EventFilter = {}): AsyncIterable<StratavoreEvent> {
    const raw = this.#raw;
    const connection = this.#connection;
    return { [Symbol.asyncIterator]: () => followEvents(raw, connection, filter) };
  }

  /** A handle on a runner by id; makes no call. */
  getHandle(id: string): RunnerHandle {
    return new RunnerHandle(id, this, this.#raw);
  }
}
