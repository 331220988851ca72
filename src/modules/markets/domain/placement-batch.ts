/**
 * What a group commit's lanes ask its one read statement for, and what it read for them under the
 * batch's locks (docs/ARCHITECTURE.md "Group commit of placements"): plain data, so the modules
 * whose rules decide on it (buyers, billing) share it without reaching into markets' repository.
 */

/** What a batch's lanes ask its read statement for. */
export interface BatchReadsWanted {
  /** Organisations whose live bids are counted. */
  liveBidsOf: string[];
  /** Re-placement plans to lock, each only if it is its organisation's. */
  plans: Array<{ organisationId: string; planId: string }>;
  /** Buyer balances to lock (organisation, currency), with the capped ones' settled charges. */
  funds: Array<{ organisationId: string; currency: string }>;
  /** Where the spend cap's period starts: settled charges are counted from it. */
  spendSince: Date;
}

/** A re-placement plan as the batch's read locked it; amounts and times as JSON gives them. */
export interface LockedPlanRow {
  id: string;
  organisationId: string;
  currency: string;
  maxCount: number;
  budget: string;
  usedCount: number;
  usedBudget: string;
  stoppedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

/** One locked buyer account, with its organisation's limits in its currency; amounts as text. */
export interface LockedFundsRow {
  organisationId: string;
  kind: string;
  currency: string;
  balance: string;
  spendCap: string | null;
  lowBalanceThreshold: string | null;
}

/** A capped buyer's settled charges since the spend period began; the total as text. */
export interface SettledChargesRow {
  organisationId: string;
  currency: string;
  total: string;
}

/** What the batch's read statement read for its lanes, under its locks. */
export interface BatchReads {
  liveBids: Map<string, number>;
  plans: LockedPlanRow[];
  funds: LockedFundsRow[];
  settled: SettledChargesRow[];
}

/** A batch whose lanes ask for nothing beyond the placement locks. */
export const NOTHING_WANTED: BatchReadsWanted = {
  liveBidsOf: [],
  plans: [],
  funds: [],
  spendSince: new Date(0),
};
