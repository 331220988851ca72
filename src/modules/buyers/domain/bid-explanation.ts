import { formatMoney } from '@/shared/money';
import type { Quote } from '@/modules/matching/domain/quote';

/**
 * Why a live bid rests, the first that applies, in this order (docs/MATCHING.md "Why a bid
 * rests"): the first three are the bid's or the market's state, the rest come from the quote of
 * the bid's own terms against the live book.
 */
export const RESTING_REASONS = [
  'EXPIRY_REACHED',
  'MARKET_PAUSED',
  'ORGANISATION_NOT_VERIFIED',
  'NO_ELIGIBLE_SUPPLY',
  'ALL_OR_NOTHING_SHORT',
  'AWAITING_CLEARING',
  'AWAITING_RUN',
] as const;

export type RestingReason = (typeof RESTING_REASONS)[number];

/** What the explanation knows besides the quote of the bid's own terms against the live book. */
export interface RestingContext {
  readonly remainingGpus: number;
  readonly partialAllowed: boolean;
  readonly expired: boolean;
  readonly marketPaused: boolean;
  readonly verified: boolean;
  readonly matchingMode: 'CONTINUOUS' | 'CALL';
  readonly nextClearingAt: Date | null;
}

/** The first reason of RESTING_REASONS that holds for a live bid with this quote. */
export function restingReason(quote: Quote, ctx: RestingContext): RestingReason {
  if (ctx.expired) return 'EXPIRY_REACHED';
  if (ctx.marketPaused) return 'MARKET_PAUSED';
  if (!ctx.verified) return 'ORGANISATION_NOT_VERIFIED';
  if (quote.availableGpus === 0) return 'NO_ELIGIBLE_SUPPLY';
  if (quote.fillableGpus === 0) return 'ALL_OR_NOTHING_SHORT';
  return ctx.matchingMode === 'CALL' ? 'AWAITING_CLEARING' : 'AWAITING_RUN';
}

const RULE: Record<string, string> = {
  MODEL: 'do not serve the model',
  TTFT_SLO: 'miss the TTFT SLO',
  THROUGHPUT: 'cannot sustain the throughput on the sized GPUs',
  PRICE: 'ask above your price cap',
  PROVINCE: 'are outside your provinces',
  RELIABILITY: 'have a provider score below your minimum',
  WINDOW: 'cannot host the lease in their window',
  MIN_LEASE: 'need a longer lease',
  CO_LOCATION: 'cannot give your minimum GPUs per site',
};

/** One sentence for people: the reason, then what each rule removed. */
export function explainResting(
  reason: RestingReason,
  quote: Quote,
  ctx: RestingContext,
  currency: string,
  scale: number,
): string {
  const removed = quote.excluded.map(
    (e) => `${e.gpus} GPUs in ${e.offers} ${e.offers === 1 ? 'offer' : 'offers'} ${RULE[e.constraint]}`,
  );
  const cheapest = quote.cheapestExcluded
    ? `; cheapest excluded ${formatMoney(quote.cheapestExcluded.price, scale)} ${currency}/GPU-h in ${quote.cheapestExcluded.province}`
    : '';
  const rules = removed.length === 0 ? '' : ` Removed: ${removed.join('; ')}${cheapest}.`;
  const eligible = `${quote.availableGpus} of your ${ctx.remainingGpus} remaining GPUs`;
  switch (reason) {
    case 'EXPIRY_REACHED':
      return 'The bid has reached its expiry; the expiry sweep closes it and releases its hold.';
    case 'MARKET_PAUSED':
      return `The market is paused: nothing matches until it resumes.${rules}`;
    case 'ORGANISATION_NOT_VERIFIED':
      return `Your organisation is not verified yet, so matching does not see the bid; verified, ${eligible} would find eligible supply now.${rules}`;
    case 'NO_ELIGIBLE_SUPPLY':
      return `No free supply passes every rule for this bid now.${rules}`;
    case 'ALL_OR_NOTHING_SHORT':
      return `Eligible supply covers ${eligible}, and the bid is all-or-nothing.${rules}`;
    case 'AWAITING_CLEARING':
      return (
        `Eligible supply covers ${eligible}; the next clearing at ${ctx.nextClearingAt?.toISOString() ?? 'the next window'} ` +
        'considers the bid for it, alongside every other resting bid: a clearing allocates for the most matched ' +
        `GPU-hours, so it may go to others.${rules}`
      );
    case 'AWAITING_RUN':
      return (
        `Eligible supply covers ${eligible}, freed or offered since the last matching run; the next run takes it ` +
        `in price-time priority, so a higher-priority bid may take it first.${rules}`
      );
  }
}
