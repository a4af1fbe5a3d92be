/**
 * Per-run budget accounting, shared by the run workflow (which enforces it) and tests. Pure and
 * deterministic: amounts are kept as integers of 1e-8 USD (the ledger's precision, DECIMAL(14,8)), so
 * comparisons are exact and a run never spends more than its budget because of float rounding.
 */

/** 1 USD in ledger units (1e-8 USD). */
export const UNITS_PER_USD = 100_000_000;

/** USD → ledger units, rounding a worst case *up* (never under-reserve) and an actual cost to nearest. */
export function toUnits(usd: number, round: 'up' | 'nearest' = 'nearest'): number {
  const x = usd * UNITS_PER_USD;
  // Guard against binary noise (0.1 * 1e8 = 10000000.000000002) before rounding up.
  const r = Math.round(x);
  if (round === 'up' && x - r > 1e-6) return r + 1;
  return r;
}

export function toUsd(units: number): number {
  return Number((units / UNITS_PER_USD).toFixed(8));
}

/** `$0.0123`: enough digits for sub-cent model calls, trailing zeros trimmed to at least 2. */
export function formatUsd(usd: number): string {
  const s = usd.toFixed(usd !== 0 && Math.abs(usd) < 0.01 ? 6 : 4).replace(/0+$/, '');
  const [i, f = ''] = s.split('.');
  return `$${i}.${f.padEnd(2, '0')}`;
}

/** Something that happened to a run besides its steps, shown in the run's `events`. */
export type RunEvent =
  | {
      id: string;
      type: 'budget_warning';
      at: string;
      threshold: number;
      spentUsd: number;
      budgetUsd: number;
      step: string;
    }
  | {
      id: string;
      type: 'budget_paused';
      at: string;
      step: string;
      model: string;
      callIndex: number;
      /** The next call's worst case, what was left, and by how much it would have gone over. */
      worstCaseUsd: number;
      remainingUsd: number;
      overByUsd: number;
      spentUsd: number;
      budgetUsd: number;
      message: string;
    }
  | {
      id: string;
      type: 'budget_resumed';
      at: string;
      additionalBudgetUsd: number;
      budgetUsd: number;
    };

export type BudgetWarningEvent = Extract<RunEvent, { type: 'budget_warning' }>;

export interface BudgetCheck {
  /** True when a call with this worst case may be made. */
  fits: boolean;
  worstCaseUnits: number;
  remainingUnits: number;
  /** How far the call would go over (0 when it fits). */
  overByUnits: number;
}

/**
 * The budget of one run: a limit, what was spent, and at most one reservation (calls are sequential).
 * `limit` null = unlimited (nothing is enforced).
 */
export class BudgetAccount {
  spentUnits = 0;
  reservedUnits = 0;
  readonly fired = new Set<number>();

  constructor(
    public limitUnits: number | null,
    readonly thresholds: readonly number[],
  ) {}

  get limited(): boolean {
    return this.limitUnits !== null;
  }

  check(worstCaseUsd: number): BudgetCheck {
    const worstCaseUnits = toUnits(worstCaseUsd, 'up');
    const remainingUnits = this.limitUnits === null ? Number.POSITIVE_INFINITY : this.limitUnits - this.spentUnits;
    const overByUnits = Math.max(0, worstCaseUnits - remainingUnits);
    return { fits: overByUnits === 0, worstCaseUnits, remainingUnits, overByUnits };
  }

  reserve(worstCaseUnits: number): void {
    this.reservedUnits = worstCaseUnits;
  }

  /**
   * Replaces the reservation with the actual cost (or keeps the reservation as spent when the cost is
   * unknown: never count an unpriced call as free). Returns the thresholds crossed for the first time.
   */
  settle(costUsd: number | null): number[] {
    const cost = costUsd === null ? this.reservedUnits : toUnits(costUsd);
    this.spentUnits += cost;
    this.reservedUnits = 0;
    if (this.limitUnits === null || this.limitUnits <= 0) return [];
    const crossed: number[] = [];
    for (const t of this.thresholds) {
      if (this.fired.has(t)) continue;
      if (this.spentUnits >= Math.ceil(t * this.limitUnits)) {
        this.fired.add(t);
        crossed.push(t);
      }
    }
    return crossed;
  }

  raise(additionalUsd: number): void {
    if (this.limitUnits !== null) this.limitUnits += toUnits(additionalUsd);
  }
}
