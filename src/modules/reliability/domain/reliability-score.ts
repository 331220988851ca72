/**
 * A provider's reliability score from its lease outcomes (docs/RELIABILITY.md). Pure: the
 * repository sums decayed weights per outcome, this turns them into the score and its parts.
 */

/** An outcome's weight halves every this many days: a year-old miss weighs about 6%. */
export const HALF_LIFE_DAYS = 90;
/** Outcomes older than this are not read at all (their weight is below 1/16). */
export const LOOKBACK_DAYS = 365;
/** The prior: a new provider is scored as if it had 4 good outcomes and 1 bad one (score 80). */
export const PRIOR_GOOD = 4;
export const PRIOR_BAD = 1;
/** The score with no outcomes: 100 x 4 / 5. */
export const PRIOR_SCORE = (100 * PRIOR_GOOD) / (PRIOR_GOOD + PRIOR_BAD);
/** Below this much decayed evidence a score is shown as `new`: mostly the prior speaking. */
export const NEW_BELOW_WEIGHT = 3;
/** A handover after the provisioning deadline counts this much of a miss. */
export const LATE_HANDOVER_FAULT = 0.5;
/**
 * A lease the provider ended at the offer's notice counts this much of an early end: it kept its
 * commitment, but the buyer lost the rest of the lease.
 */
export const NOTICE_END_FAULT = 0.5;

/** One outcome class: how many there were in the lookback, and their decayed weight. */
export interface OutcomeTally {
  count: number;
  weight: number;
}

export interface OutcomeTallies {
  /** Access handed over by the provisioning deadline. */
  onTimeHandovers: OutcomeTally;
  /** Access handed over after the deadline (before the sweep ended the lease). */
  lateHandovers: OutcomeTally;
  /** The deadline passed with no handover: the lease ended as PROVIDER_FAILURE before it started. */
  missedHandovers: OutcomeTally;
  /** Started leases that ran to their end, or that the buyer or an admin ended. */
  deliveredLeases: OutcomeTally;
  /** Started leases the provider ended early (at once for a penalty, or as failed). */
  providerEarlyEnds: OutcomeTally;
  /** Started leases the provider ended at the offer's notice. */
  providerNoticeEnds: OutcomeTally;
  /**
   * Settled periods of leases with an SLO that met it (count), and their weight: each lease with
   * assessed periods is one SLO trial, split between good and bad by its met and missed shares.
   */
  sloMet: OutcomeTally;
  /** Settled periods that missed the SLO, and the bad share of each lease's SLO trial. */
  sloMissed: OutcomeTally;
  /** Disputes decided against the provider: each one bad trial, weighed at its decision. */
  disputesLost: OutcomeTally;
}

export interface ReliabilityScore {
  /** 0-100, one decimal. */
  score: number;
  /** True while the decayed evidence is below NEW_BELOW_WEIGHT: the prior dominates. */
  isNew: boolean;
  /** The decayed weight of all outcomes read (the prior not included), two decimals. */
  evidence: number;
  components: {
    handover: { onTime: number; late: number; missed: number; onTimeShare: number | null };
    delivery: {
      delivered: number;
      endedWithNoticeByProvider: number;
      endedEarlyByProvider: number;
      deliveredShare: number | null;
    };
    slo: { met: number; missed: number; metShare: number | null };
    disputes: { lost: number };
  };
}

export const EMPTY_TALLY: OutcomeTally = { count: 0, weight: 0 };

export const emptyTallies = (): OutcomeTallies => ({
  onTimeHandovers: EMPTY_TALLY,
  lateHandovers: EMPTY_TALLY,
  missedHandovers: EMPTY_TALLY,
  deliveredLeases: EMPTY_TALLY,
  providerEarlyEnds: EMPTY_TALLY,
  providerNoticeEnds: EMPTY_TALLY,
  sloMet: EMPTY_TALLY,
  sloMissed: EMPTY_TALLY,
  disputesLost: EMPTY_TALLY,
});

/** The weight of an outcome `ageMs` old. */
export function decayWeight(ageMs: number): number {
  return 0.5 ** (Math.max(0, ageMs) / (HALF_LIFE_DAYS * 86_400_000));
}

const round = (value: number, places: number): number => {
  const scale = 10 ** places;
  return Math.round(value * scale) / scale;
};

const share = (good: number, total: number): number | null => (total === 0 ? null : round(good / total, 3));

/**
 * The score over decayed outcome weights, as docs/RELIABILITY.md "The formula" writes it.
 */
export function reliabilityScore(t: OutcomeTallies): ReliabilityScore {
  const good =
    t.onTimeHandovers.weight +
    t.lateHandovers.weight * (1 - LATE_HANDOVER_FAULT) +
    t.deliveredLeases.weight +
    t.providerNoticeEnds.weight * (1 - NOTICE_END_FAULT) +
    t.sloMet.weight;
  const bad =
    t.missedHandovers.weight +
    t.lateHandovers.weight * LATE_HANDOVER_FAULT +
    t.providerEarlyEnds.weight +
    t.providerNoticeEnds.weight * NOTICE_END_FAULT +
    t.sloMissed.weight +
    t.disputesLost.weight;
  const evidence = good + bad;
  const handovers = t.onTimeHandovers.count + t.lateHandovers.count + t.missedHandovers.count;
  const finished = t.deliveredLeases.count + t.providerEarlyEnds.count + t.providerNoticeEnds.count;
  return {
    score: round((100 * (PRIOR_GOOD + good)) / (PRIOR_GOOD + PRIOR_BAD + evidence), 1),
    isNew: evidence < NEW_BELOW_WEIGHT,
    evidence: round(evidence, 2),
    components: {
      handover: {
        onTime: t.onTimeHandovers.count,
        late: t.lateHandovers.count,
        missed: t.missedHandovers.count,
        onTimeShare: share(t.onTimeHandovers.count, handovers),
      },
      delivery: {
        delivered: t.deliveredLeases.count,
        endedWithNoticeByProvider: t.providerNoticeEnds.count,
        endedEarlyByProvider: t.providerEarlyEnds.count,
        deliveredShare: share(t.deliveredLeases.count, finished),
      },
      slo: {
        met: t.sloMet.count,
        missed: t.sloMissed.count,
        metShare: share(t.sloMet.count, t.sloMet.count + t.sloMissed.count),
      },
      disputes: { lost: t.disputesLost.count },
    },
  };
}
