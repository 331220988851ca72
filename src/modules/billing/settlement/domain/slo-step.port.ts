import type { Period } from '@/shared/periods';

/** What settlement hands the SLO step: the lease (with whether it carries an SLO) and its charges. */
export interface SloSettlingLease {
  id: string;
  market: string;
  currency: string;
  currencyScale: number;
  buyerOrganisationId: string;
  providerOrganisationId: string;
  hasSlo: boolean;
}

export interface SloSettlingCharge extends Period {
  cost: bigint;
  fee: bigint;
  /** A per-token period's spread (charge - payout): the platform's, not the provider's proceeds. */
  tokens?: { spread: bigint };
}

/**
 * Settlement's SLO step (docs/SLO.md): when a period of a lease with an SLO may settle, and the
 * credits of its misses, posted in settlement's transaction. Settlement owns the port so that it
 * imports nothing of slo; bound in one place (the composition root, AppModule) to slo's adapter.
 */
export abstract class SloStepPort {
  /** When the period may settle: `base`, or later for a lease with an SLO. */
  abstract settlesAt(lease: Pick<SloSettlingLease, 'hasSlo'>, period: Period, base: Date): Date;
  /** Records the periods' outcomes and credits their misses; returns the credits' total. */
  abstract settlePeriods(
    lease: SloSettlingLease,
    charges: readonly SloSettlingCharge[],
    now: Date,
  ): Promise<bigint>;
}
