/**
 * What the report says about one allocation of a scenario (the exchange's leases in one mode, or
 * the offline optimum): GPU-hours, fill by market and province, idle capacity, unmet demand by
 * cause, prices, and every broken rule (docs/SIMULATION.md). Pure.
 */
import { pairIneligibility } from '@/modules/matching/domain/eligibility';
import { CAUSES, type Cause, causeOf } from './causes';
import type { Book } from './model';
import type { Scenario } from './scenario';

/** One fill or lease in the scenario's keys. */
export interface Trade {
  readonly bid: string;
  readonly offer: string;
  readonly gpus: number;
  /** Price per GPU-hour, minor units. */
  readonly price: number;
}

export interface MarketFigures {
  readonly wantedGpuHours: number;
  readonly filledGpuHours: number;
  readonly offeredGpus: number;
  readonly leasedGpus: number;
  /** Volume-weighted trade price per GPU-hour (minor units), null without trades. */
  readonly vwap: number | null;
  readonly minPrice: number | null;
  readonly maxPrice: number | null;
}

export interface ProvinceFigures {
  readonly installedGpus: number;
  readonly offeredGpus: number;
  readonly leasedGpus: number;
}

export interface Analysis {
  readonly gpuHours: number;
  readonly gpus: number;
  readonly bidsFilled: number;
  readonly byMarket: ReadonlyMap<string, MarketFigures>;
  readonly byProvince: ReadonlyMap<string, ProvinceFigures>;
  readonly unmet: Readonly<Record<Cause, number>>;
  /** Rules the allocation breaks, one line each (empty when it keeps every one). */
  readonly violations: readonly string[];
}

/** The figures of `trades` over `scenario` (`book` is `toBook(scenario)`). */
export function analyse(scenario: Scenario, book: Book, trades: readonly Trade[]): Analysis {
  const bids = new Map(book.bids.map((b) => [b.id, b]));
  const offers = new Map(book.offers.map((o) => [o.id, o]));
  const simBids = new Map(scenario.bids.map((b) => [b.key, b]));
  const simOffers = new Map(scenario.offers.map((o) => [o.key, o]));
  const violations: string[] = [];

  const filledOf = new Map<string, number>();
  const takenOf = new Map<string, number>();
  const perBidSite = new Map<string, number>();
  for (const trade of trades) {
    const bid = bids.get(trade.bid);
    const offer = offers.get(trade.offer);
    if (bid === undefined || offer === undefined) {
      violations.push(`trade of unknown orders ${trade.bid} x ${trade.offer}`);
      continue;
    }
    filledOf.set(bid.id, (filledOf.get(bid.id) ?? 0) + trade.gpus);
    takenOf.set(offer.id, (takenOf.get(offer.id) ?? 0) + trade.gpus);
    const key = `${bid.id}@${offer.siteId}`;
    perBidSite.set(key, (perBidSite.get(key) ?? 0) + trade.gpus);
    if (book.marketOf.get(bid.id) !== book.marketOf.get(offer.id))
      violations.push(`${bid.id} x ${offer.id}: markets differ`);
    // Every rule but capacity, judged at the bid's arrival (the instant it could first trade).
    const reason = pairIneligibility(bid, offer, simBids.get(bid.id)!.arrival);
    if (reason !== null && reason !== 'NO_CAPACITY') violations.push(`${bid.id} x ${offer.id}: ${reason}`);
    if (BigInt(trade.price) > bid.price)
      violations.push(`${bid.id} x ${offer.id}: paid ${trade.price} over its cap`);
    if (BigInt(trade.price) < offer.price)
      violations.push(`${bid.id} x ${offer.id}: ${trade.price} under the ask`);
  }
  for (const [id, filled] of filledOf) {
    const bid = bids.get(id)!;
    if (filled > bid.remaining) violations.push(`${id}: filled ${filled} of ${bid.remaining}`);
    if (!bid.partialAllowed && filled !== bid.remaining)
      violations.push(`${id}: all-or-nothing filled ${filled} of ${bid.remaining}`);
  }
  for (const [key, gpus] of perBidSite) {
    const bid = bids.get(key.slice(0, key.indexOf('@')))!;
    if (gpus < Math.min(bid.minGpusPerSite, bid.remaining))
      violations.push(`${key}: ${gpus} GPUs at a site, under the bid's minimum ${bid.minGpusPerSite}`);
  }
  for (const [id, taken] of takenOf)
    if (taken > offers.get(id)!.free)
      violations.push(`${id}: leased ${taken} of ${offers.get(id)!.free} GPUs`);

  const byMarket = new Map<string, MarketFigures>();
  for (const market of scenario.markets) {
    const marketBids = scenario.bids.filter((b) => b.market === market.slug);
    const marketOffers = scenario.offers.filter((o) => o.market === market.slug);
    const marketTrades = trades.filter((t) => simOffers.get(t.offer)?.market === market.slug);
    const volume = marketTrades.reduce((sum, t) => sum + t.gpus * simBids.get(t.bid)!.durationHours, 0);
    const value = marketTrades.reduce(
      (sum, t) => sum + t.price * t.gpus * simBids.get(t.bid)!.durationHours,
      0,
    );
    const prices = marketTrades.map((t) => t.price);
    byMarket.set(market.slug, {
      wantedGpuHours: marketBids.reduce((sum, b) => sum + b.gpus * b.durationHours, 0),
      filledGpuHours: volume,
      offeredGpus: marketOffers.reduce((sum, o) => sum + o.gpus, 0),
      leasedGpus: marketTrades.reduce((sum, t) => sum + t.gpus, 0),
      vwap: volume > 0 ? Math.round(value / volume) : null,
      minPrice: prices.length > 0 ? Math.min(...prices) : null,
      maxPrice: prices.length > 0 ? Math.max(...prices) : null,
    });
  }

  const byProvince = new Map<string, { installedGpus: number; offeredGpus: number; leasedGpus: number }>();
  const province = (code: string): { installedGpus: number; offeredGpus: number; leasedGpus: number } => {
    let figures = byProvince.get(code);
    if (figures === undefined) {
      figures = { installedGpus: 0, offeredGpus: 0, leasedGpus: 0 };
      byProvince.set(code, figures);
    }
    return figures;
  };
  for (const site of scenario.sites)
    province(site.province).installedGpus += Object.values(site.gpus).reduce((a, b) => a + b, 0);
  for (const offer of scenario.offers)
    province(scenario.sites[offer.site]!.province).offeredGpus += offer.gpus;
  for (const trade of trades) {
    const offer = simOffers.get(trade.offer);
    if (offer !== undefined) province(scenario.sites[offer.site]!.province).leasedGpus += trade.gpus;
  }

  const unmet = Object.fromEntries(CAUSES.map((c) => [c, 0])) as Record<Cause, number>;
  const offersByMarket = new Map<string, typeof book.offers>();
  for (const market of scenario.markets)
    offersByMarket.set(
      market.slug,
      book.offers.filter((o) => book.marketOf.get(o.id) === market.slug),
    );
  for (const bid of book.bids) {
    const missing = bid.remaining - (filledOf.get(bid.id) ?? 0);
    if (missing <= 0) continue;
    const cause = causeOf(
      bid,
      offersByMarket.get(book.marketOf.get(bid.id)!) ?? [],
      simBids.get(bid.id)!.arrival,
    );
    unmet[cause] += missing * bid.durationHours;
  }

  const gpuHours = trades.reduce((sum, t) => sum + t.gpus * (simBids.get(t.bid)?.durationHours ?? 0), 0);
  return {
    gpuHours,
    gpus: trades.reduce((sum, t) => sum + t.gpus, 0),
    bidsFilled: [...filledOf.values()].filter((v) => v > 0).length,
    byMarket,
    byProvince,
    unmet,
    violations,
  };
}
