import {
  BatonClient,
  type CallOptions,
  type ClientDefaults,
  type ClientOptions,
  type Connection,
  callOrThrow,
  connectCallOptions,
  createRawClient,
  idempotencyKey,
} from "@baton/core";
import { Orchestrator } from "@baton/wire/orca";
import { type Client, createContextValues } from "@connectrpc/connect";
import { BudgetView } from "./budget.js";
import { buildEnvelope, RunHandle, type TaskInput, toUint64 } from "./run-handle.js";

/** The address `new OrcaClient()` dials when neither options nor `$ORCA_ADDR` name one (the seed's `localhost:50051`). */
export const DEFAULT_ORCA_ADDRESS = "127.0.0.1:50051";
/** The environment variable that overrides {@link DEFAULT_ORCA_ADDRESS}. */
export const ORCA_ADDRESS_ENV = "ORCA_ADDR";

const ORCA_DEFAULTS: ClientDefaults = { address: DEFAULT_ORCA_ADDRESS, env: ORCA_ADDRESS_ENV };

/** Options of {@link OrcaClient}: core's client options (every one optional), or a shared connection. */
export interface OrcaClientOptions extends ClientOptions {}

/** A budget for a new run; omitted or 0 limits are unlimited. */
export interface BudgetInput {
  /** Maximum tokens. */
  maxTokens?: number;
  /** Maximum cost in micros. */
  maxCostMicros?: number;
}

/** What `runs.start()` takes. */
export interface StartRunInput {
  /** The workflow to run; ORCA uses it as the run id. */
  workflowId: string;
  /** The first task (same defaults as `RunHandle.submit`). */
  task?: TaskInput;
  /** The run's budget. */
  budget?: BudgetInput;
}

/** The `runs` resource of {@link OrcaClient}. */
export class Runs {
  readonly #raw: Client<typeof Orchestrator>;
  readonly #connection: Connection;

  /** @internal */
  constructor(raw: Client<typeof Orchestrator>, connection: Connection) {
    this.#raw = raw;
    this.#connection = connection;
  }

  /**
   * Starts a run (or joins it: the same request again returns the same run) and returns
   * its handle. Safe to retry: the request, with its generated task id, is reused.
   *
   * @throws {AlreadyExistsError} when a run with that workflow id exists with another budget or task.
   * @throws {BudgetExceededError} when the initial task's usage exceeds the budget.
   * @throws {InvalidArgumentError} on an empty workflow id or a bad task.
   */
  async start(input: StartRunInput, options: CallOptions = {}): Promise<RunHandle> {
    const budget = {
      maxTokens: toUint64("budget.maxTokens", input.budget?.maxTokens),
      maxCostMicros: toUint64("budget.maxCostMicros", input.budget?.maxCostMicros),
    };
    const initialTask = input.task ? buildEnvelope(input.task) : undefined;
    const ctx = createContextValues().set(idempotencyKey, `start:${input.workflowId}`);
    const res = await callOrThrow(() =>
      this.#raw.startRun(
        { workflowId: input.workflowId, budget, ...(initialTask ? { initialTask } : {}) },
        connectCallOptions(options, ctx),
      ),
    );
    const view = new BudgetView({ maxTokens: Number(budget.maxTokens), maxCostMicros: Number(budget.maxCostMicros) });
    if (input.task?.usage)
      view.charge({ tokens: input.task.usage.tokens ?? 0, costMicros: input.task.usage.costMicros ?? 0 });
    return new RunHandle(this.#raw, this.#connection, res.runId, view);
  }

  /**
   * A handle on an existing run. Makes no call; pass the budget if you know it, otherwise
   * the handle learns it from the run's events.
   */
  getHandle(id: string, budget?: BudgetInput): RunHandle {
    return new RunHandle(this.#raw, this.#connection, id, new BudgetView(budget ?? {}));
  }
}

/**
 * The ORCA client.
 *
 * @example
 * ```ts
 * const orca = new OrcaClient({ address: "localhost:50051", token: process.env.ORCA_TOKEN });
 * const run = await orca.runs.start({ workflowId: "wf-1", budget: { maxTokens: 1000 } });
 * await run.submit({ payload: { prompt: "hi" }, usage: { tokens: 128 } });
 * for await (const ev of run.events({ max: 5 })) console.log(ev.id, ev.kind);
 * await orca.close();
 * ```
 */
export class OrcaClient extends BatonClient {
  /** The generated Connect client, for anything the idiomatic layer does not cover. */
  readonly raw: Client<typeof Orchestrator>;
  /** Runs: start, get handles. */
  readonly runs: Runs;

  /**
   * @param options where the orchestrator is (default `$ORCA_ADDR`, else
   *   {@link DEFAULT_ORCA_ADDRESS}) and how to call it; or `{ connection }` to share one.
   * @throws {InvalidArgumentError} on an unusable address or option combination.
   */
  constructor(options: OrcaClientOptions = {}) {
    super(options, ORCA_DEFAULTS);
    this.raw = createRawClient(Orchestrator, this.connection.transport);
    this.runs = new Runs(this.raw, this.connection);
  }
}
