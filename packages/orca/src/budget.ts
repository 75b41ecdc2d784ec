/** A run's limits; `undefined` means unlimited (0 on the wire). */
export interface BudgetLimits {
  /** Maximum tokens the run may consume. */
  maxTokens: number | undefined;
  /** Maximum cost in micros the run may consume. */
  maxCostMicros: number | undefined;
}

/** Usage so far. */
export interface BudgetUsage {
  /** Tokens consumed. */
  tokens: number;
  /** Cost consumed, in micros. */
  costMicros: number;
}

/** A snapshot of a run's budget as the client knows it. */
export interface BudgetSnapshot {
  /** The limits, where known (from `start()`, `getHandle()` or a budget event). */
  limits: BudgetLimits;
  /** Usage charged so far. */
  used: BudgetUsage;
  /** What is left per limit; `undefined` when that limit is unlimited or unknown. */
  remaining: {
    /** Tokens left under `maxTokens` (never below 0); `undefined` when tokens are unlimited. */
    tokens: number | undefined;
    /** Cost left under `maxCostMicros`, in micros (millionths of the cost unit); `undefined` when unlimited. */
    costMicros: number | undefined;
  };
  /** Whether the server reported a budget warning (80% of a limit). */
  warned: boolean;
  /** The limit a task was refused for, if any. */
  exceeded: string | undefined;
}

/**
 * The client's view of a run's budget, kept up to date from the usage hints the client
 * submits and from `usage_update`, `budget_warning` and `budget_exceeded` events (which
 * carry the server's authoritative totals).
 */
export class BudgetView {
  #limits: BudgetLimits;
  #used: BudgetUsage = { tokens: 0, costMicros: 0 };
  #warned = false;
  #exceeded: string | undefined;

  /** @param limits the limits, where known. */
  constructor(limits: Partial<BudgetLimits> = {}) {
    this.#limits = { maxTokens: limits.maxTokens || undefined, maxCostMicros: limits.maxCostMicros || undefined };
  }

  /** The current snapshot. */
  snapshot(): BudgetSnapshot {
    const left = (max: number | undefined, used: number) => (max === undefined ? undefined : Math.max(0, max - used));
    return {
      limits: { ...this.#limits },
      used: { ...this.#used },
      remaining: {
        tokens: left(this.#limits.maxTokens, this.#used.tokens),
        costMicros: left(this.#limits.maxCostMicros, this.#used.costMicros),
      },
      warned: this.#warned,
      exceeded: this.#exceeded,
    };
  }

  /** Whether a task with this usage would fit, as far as the client knows. */
  fits(usage: Partial<BudgetUsage>): boolean {
    const s = this.snapshot();
    return (
      (s.remaining.tokens === undefined || (usage.tokens ?? 0) <= s.remaining.tokens) &&
      (s.remaining.costMicros === undefined || (usage.costMicros ?? 0) <= s.remaining.costMicros)
    );
  }

  /** Adds the usage of a task the server accepted. */
  charge(usage: Partial<BudgetUsage>): void {
    this.#used.tokens += usage.tokens ?? 0;
    this.#used.costMicros += usage.costMicros ?? 0;
  }

  /** Marks a limit as exhausted (a task was refused). */
  markExceeded(limit: string | undefined): void {
    this.#exceeded = limit ?? "budget";
  }

  /** Applies a budget-related run event; other kinds are ignored. */
  applyEvent(kind: string, payload: unknown): void {
    if (typeof payload !== "object" || payload === null) return;
    const p = payload as Record<string, unknown>;
    const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : undefined);
    if (kind === "start_run") {
      const b = p.budget as Record<string, unknown> | undefined;
      if (b)
        this.#limits = {
          maxTokens: num(b.max_tokens) || undefined,
          maxCostMicros: num(b.max_cost_micros) || undefined,
        };
    } else if (kind === "usage_update") {
      const tokens = num(p.tokens_used);
      const cost = num(p.cost_micros_used);
      // Server totals are authoritative, but never move backwards past what we already saw.
      if (tokens !== undefined) this.#used.tokens = Math.max(this.#used.tokens, tokens);
      if (cost !== undefined) this.#used.costMicros = Math.max(this.#used.costMicros, cost);
      if (num(p.max_tokens) !== undefined) this.#limits.maxTokens = num(p.max_tokens) || undefined;
      if (num(p.max_cost_micros) !== undefined) this.#limits.maxCostMicros = num(p.max_cost_micros) || undefined;
    } else if (kind === "budget_warning") {
      this.#warned = true;
    } else if (kind === "budget_exceeded") {
      this.markExceeded(typeof p.limit === "string" ? p.limit : undefined);
    }
  }
}
