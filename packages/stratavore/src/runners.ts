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
  maxConcurrentRunners?: number;
  maxMemoryMb?: number | bigint;
  maxCpuPercent?: number;
  maxTokensPerDay?: number | bigint;
}

/** What {@link Runners.create} takes. */
export interface CreateRunnerInput {
  projectName: string;
  /** claude-3-sonnet, claude-3-opus, claude-3-haiku (or the server's configured models). */
  model?: string;
  temperature?: number;
  maxTokens?: number;
  metadata?: Record<string, string>;
  runtimeId?: string;
  quota?: QuotaInput;
}

/** What {@link Runners.list} filters by. */
export interface ListRunnersInput {
  projectName?: string;
  status?: RunnerStatus;
  metadataFilter?: Record<string, string>;
  includeMetrics?: boolean;
  /** Page size (the server's default when unset). */
  limit?: number;
}

/** What {@link Runners.update} changes; unset fields stay. */
export interface UpdateRunnerInput {
  temperature?: number;
  maxTokens?: number;
  /** Merged; an empty value removes the key. */
  metadata?: Record<string, string>;
  /** PAUSED pauses a RUNNING runner; RUNNING resumes a PAUSED one. */
  status?: RunnerStatus;
  quota?: QuotaInput;
}

/** A runner as GetRunner answers it. */
export interface RunnerDetails {
  runner: Runner;
  metrics?: RunnerMetrics;
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
   */
  async create(
    input: CreateRunnerInput,
    options: CallOptions = {},
  ): Promise<{ runner: Runner; warnings: string[]; handle: RunnerHandle }> {
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
