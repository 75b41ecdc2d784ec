import { type BatonError, BudgetExceededError, Code } from "@baton/core";

/** Trailer in which baton-server names the exhausted limit. */
const LIMIT_TRAILER = "orca-budget-limit";
const LIMITS = ["max_tokens", "max_cost_micros"] as const;

/**
 * ORCA's error boundary: RESOURCE_EXHAUSTED from the orchestrator means a budget limit,
 * so it becomes a {@link BudgetExceededError} naming the limit (from the trailer, or the
 * status message as the real ORCA words it).
 */
export function mapOrcaError(err: BatonError): BatonError {
  if (err.code !== Code.ResourceExhausted || err instanceof BudgetExceededError) return err;
  const fromTrailer = err.metadata.get(LIMIT_TRAILER) ?? undefined;
  const limit = fromTrailer ?? LIMITS.find((l) => err.message.includes(l));
  if (limit === undefined && !/budget/i.test(err.message)) return err;
  return new BudgetExceededError(err.message, {
    code: err.code,
    cause: err.cause ?? err,
    details: err.details,
    metadata: err.metadata,
    ...(limit === undefined ? {} : { limit }),
    ...(err.detail === undefined ? {} : { detail: err.detail }),
  });
}
