/**
 * An organisation's own limits, as plain code: the spend cap's calendar month and what counts
 * against it, and when a balance crossing its threshold is worth a `balance.low` event.
 */

/** The cap's period: a calendar month in China Standard Time (UTC+8, no daylight saving since 1991). */
export const SPEND_PERIOD_TIME_ZONE = 'Asia/Shanghai';
const SHANGHAI_OFFSET_MS = 8 * 3_600_000;

export interface SpendPeriod {
  startsAt: Date;
  endsAt: Date;
}

/** The Asia/Shanghai calendar month `at` falls in, as UTC instants [startsAt, endsAt). */
export function spendPeriodOf(at: Date): SpendPeriod {
  const local = new Date(at.getTime() + SHANGHAI_OFFSET_MS);
  const year = local.getUTCFullYear();
  const month = local.getUTCMonth();
  return {
    startsAt: new Date(Date.UTC(year, month, 1) - SHANGHAI_OFFSET_MS),
    endsAt: new Date(Date.UTC(year, month + 1, 1) - SHANGHAI_OFFSET_MS),
  };
}

/**
 * What the period has committed: the charges settled in it plus everything held now (open bids
 * at their max price and unsettled leases at their trade price), since holds are what the
 * organisation may yet be charged.
 */
export function committedSpend(settledInPeriod: bigint, held: bigint): bigint {
  return settledInPeriod + held;
}

/** Whether a new hold of `required` fits under the cap given what is committed. */
export function fitsSpendCap(cap: bigint | null, committed: bigint, required: bigint): boolean {
  return cap === null || committed + required <= cap;
}

/**
 * A crossing is the one moment worth telling: from at or above the threshold to below it. A
 * balance that stays below writes nothing more; it re-arms by rising to the threshold again.
 */
export function crossedBelow(threshold: bigint | null, before: bigint, after: bigint): boolean {
  return threshold !== null && before >= threshold && after < threshold;
}
