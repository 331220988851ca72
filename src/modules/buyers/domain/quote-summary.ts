import type { Quote } from '@/modules/matching/domain/quote';
import { formatMoney } from '@/shared/money';

const REASON: Record<string, string> = {
  PRICE: 'at or below your price',
  PROVINCE: 'in your provinces',
  WINDOW: 'available for your whole duration',
  MIN_LEASE: 'accepting your lease length',
  CO_LOCATION: 'with enough GPUs per site',
};

/** One sentence a person can act on, e.g. "No offer in your provinces at or below your price; …". */
export function summariseQuote(quote: Quote, wanted: number, currency: string, scale: number): string {
  const cheapest = quote.cheapestExcluded
    ? `; cheapest excluded ${formatMoney(quote.cheapestExcluded.price, scale)} ${currency}/GPU-h in ${quote.cheapestExcluded.province}`
    : '';
  const blockers = quote.excluded.map((e) => REASON[e.constraint] ?? e.constraint.toLowerCase());
  if (quote.fillableGpus === 0) {
    if (quote.availableGpus > 0) {
      return `Nothing fillable now: only ${quote.availableGpus} of ${wanted} GPUs are available and the bid is all-or-nothing${cheapest}.`;
    }
    if (blockers.length === 0) return 'Nothing fillable now: no matching offers in this market.';
    return `Nothing fillable now: no offer ${blockers.join(' and ')}${cheapest}.`;
  }
  const price = quote.vwap === null ? '' : ` at ${formatMoney(quote.vwap, scale)} ${currency}/GPU-h`;
  const where = `across ${quote.sites.length} site${quote.sites.length === 1 ? '' : 's'}`;
  if (quote.fillableGpus >= wanted) return `All ${wanted} GPUs fillable now${price} ${where}.`;
  const rest = blockers.length > 0 ? `; more offers exist but not ${blockers.join(' and ')}${cheapest}` : '';
  return `${quote.fillableGpus} of ${wanted} GPUs fillable now${price} ${where}${rest}.`;
}
