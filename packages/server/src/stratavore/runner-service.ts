import {
  CreateRunnerResponseSchema,
  DeleteRunnerResponseSchema,
  GetRunnerResponseSchema,
  ListRunnersResponseSchema,
  RestartRunnerResponseSchema,
  type RunnerEvent,
  type RunnerService,
  StopRunnerResponseSchema,
  type StreamRunnerEventsRequest,
  UpdateRunnerResponseSchema,
} from "@baton/wire/stratavore";
import { create } from "@bufbuild/protobuf";
import { Code, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { RoleName } from "./auth.js";
import { Role } from "./auth.js";
import { fail, invalid, Reason } from "./errors.js";
import { eventSeq } from "./event-log.js";
import type { StratavoreState } from "./state.js";

/** The role each RunnerService rpc needs. */
export const runnerRoles: Record<keyof ServiceImpl<typeof RunnerService>, RoleName> = {
  createRunner: Role.write,
  getRunner: Role.read,
  listRunners: Role.read,
  updateRunner: Role.write,
  deleteRunner: Role.write,
  stopRunner: Role.write,
  restartRunner: Role.write,
  streamRunnerEvents: Role.read,
};

/** `stratavore.v1.RunnerService` over the state. `closing` ends open event streams. */
export function runnerService(state: StratavoreState, closing: AbortSignal): ServiceImpl<typeof RunnerService> {
  return {
    async createRunner(req) {
      const { runner, warnings } = state.createRunner({
        projectName: req.projectName,
        model: req.model,
        temperature: req.temperature,
        maxTokens: req.maxTokens,
        metadata: req.metadata,
        runtimeId: req.runtimeId,
        quota: req.quota,
        sessionId: "",
      });
      return create(CreateRunnerResponseSchema, { runner, warnings });
    },
    async getRunner(req) {
      const runner = state.runnerView(req.runnerId);
      const session = req.includeSession ? state.sessionOfRunner(req.runnerId) : undefined;
      return create(GetRunnerResponseSchema, {
        runner,
        ...(req.includeMetrics ? { metrics: state.runnerMetrics(req.runnerId) } : {}),
        ...(session ? { session } : {}),
      });
    },
    async listRunners(req) {
      const p = state.listRunners({
        projectName: req.projectName,
        status: req.status,
        metadataFilter: req.metadataFilter,
        limit: req.limit,
        offset: req.offset,
      });
      const metrics = req.includeMetrics
        ? Object.fromEntries(p.items.map((r) => [r.id, state.runnerMetrics(r.id)]))
        : {};
      return create(ListRunnersResponseSchema, {
        runners: p.items,
        totalCount: p.totalCount,
        hasMore: p.hasMore,
        metrics,
      });
    },
    async updateRunner(req) {
      const runner = state.updateRunner({
        runnerId: req.runnerId,
        temperature: req.temperature,
        maxTokens: req.maxTokens,
        metadata: req.metadata,
        status: req.status,
        quota: req.quota,
      });
      return create(UpdateRunnerResponseSchema, { runner });
    },
    async deleteRunner(req) {
      await state.deleteRunner(req.runnerId, req.force);
      return create(DeleteRunnerResponseSchema, { runnerId: req.runnerId });
    },
    async stopRunner(req) {
      return create(StopRunnerResponseSchema, { runner: await state.stopRunner(req.runnerId, req.force, req.reason) });
    },
    async restartRunner(req) {
      return create(RestartRunnerResponseSchema, { runner: await state.restartRunner(req.runnerId, req.newSession) });
    },
    streamRunnerEvents(req, ctx) {
      return streamEvents(state, req, ctx, closing);
    },
  };
}

async function* streamEvents(
  state: StratavoreState,
  req: StreamRunnerEventsRequest,
  ctx: HandlerContext,
  closing: AbortSignal,
): AsyncGenerator<RunnerEvent> {
  let after: number | undefined;
  if (req.afterEventId !== "") {
    after = eventSeq(req.afterEventId);
    if (after === undefined) throw invalid("after_event_id", `not an event id: ${req.afterEventId}`);
    if (after + 1 < state.events.oldestSeq())
      throw fail(
        Code.OutOfRange,
        Reason.eventsExpired,
        `events after ${req.afterEventId} are no longer retained (oldest is evt-${state.events.oldestSeq()})`,
        { after_event_id: req.afterEventId },
      );
  } else if (req.fromStart) {
    after = 0;
  }
  const types = new Set(req.eventTypes);
  const wanted = (e: RunnerEvent) =>
    (req.projectName === "" || e.projectName === req.projectName) &&
    (req.runnerId === "" || e.runnerId === req.runnerId) &&
    (types.size === 0 || types.has(e.eventType));

  // Subscribe before reading the replay: publish is synchronous, so nothing falls between.
  const queue: RunnerEvent[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = state.events.subscribe((e) => {
    queue.push(e);
    wake?.();
  });
  const stop = () => wake?.();
  ctx.signal.addEventListener("abort", stop);
  closing.addEventListener("abort", stop);
  try {
    let last = after ?? 0;
    if (after !== undefined) {
      for (const e of state.events.after(after)) {
        last = eventSeq(e.eventId) ?? last;
        if (wanted(e)) yield e;
      }
    }
    while (!ctx.signal.aborted && !closing.aborted) {
      const e = queue.shift();
      if (!e) {
        await new Promise<void>((r) => {
          wake = r;
        });
        wake = undefined;
        continue;
      }
      const seq = eventSeq(e.eventId) ?? 0;
      if (seq <= last) continue; // already replayed
      last = seq;
      if (wanted(e)) yield e;
    }
  } finally {
    unsubscribe();
    ctx.signal.removeEventListener("abort", stop);
    closing.removeEventListener("abort", stop);
  }
}
