import {
  pricePerMillionTokensOf,
  throughputShare,
  tokensPerHour,
} from '@/modules/inference/domain/inference-pricing';
import type { BookBid, BookOffer, Fill, InferenceDemandTerms } from './book';
import { leaseStartOf } from './eligibility';

export type LeaseBillingMode = 'RESERVED' | 'PAY_PER_USE';

/** A bid as a run reads it: the core's fields plus what its leases copy. */
export interface RunBid extends BookBid {
  readonly billingMode: LeaseBillingMode;
  /** An inference bid's model slug, which its leases' `lease.created` names; absent on a GPU bid. */
  readonly inferenceModel?: string;
}

/** An offer as a run reads it: the core's fields (its pay-per-use floor too, which its leases copy). */
export type RunOffer = BookOffer;

/** One market's book at one instant, with the epoch the run's commit must still find. */
export interface RunBook {
  readonly marketId: string;
  /** The market's slug and currency, for the events and the funds a commit records. */
  readonly market: string;
  readonly currency: string;
  readonly currencyScale: number;
  readonly paused: boolean;
  readonly feeBps: number;
  readonly epoch: bigint;
  readonly bids: readonly RunBid[];
  readonly offers: readonly RunOffer[];
}

/**
 * A run's orders by id, as its commit reads the orders it filled: the worker's `MarketBook`
 * answers from its maps, so a commit's cost does not grow with the resting book.
 */
export interface RunOrders {
  bid(id: string): RunBid | undefined;
  offer(id: string): RunOffer | undefined;
}

/** A lease a fill becomes: everything the leases table needs besides ids and timestamps. */
export interface LeaseTerms {
  readonly bidId: string;
  readonly offerId: string;
  readonly buyerOrganisationId: string;
  readonly providerOrganisationId: string;
  readonly siteId: string;
  readonly gpus: number;
  readonly pricePerGpuHour: bigint;
  /** The offer's own ask (at most the trade price): a per-token lease pays its provider at it. */
  readonly providerAskPerGpuHour: bigint;
  readonly durationHours: number;
  readonly billingMode: LeaseBillingMode;
  readonly feeBps: number;
  readonly payPerUseMinPercent: number;
  /** Epoch ms by which the provider must hand over access: provisioning time after the start. */
  readonly provisioningDeadline: number;
  /** Offers with idle windows: when the lease's window opens (SCHEDULED until then); else null. */
  readonly startsAt: number | null;
  /** An interruptible bid on idle windows: the provider may reclaim the lease at the offer's notice. */
  readonly reclaimable: boolean;
  /** The inference terms the lease carries when its bid is an inference bid, else null. */
  readonly inference: LeaseInferenceTerms | null;
}

/** docs/INFERENCE.md "Inference bids": what per-token billing reads from a lease. */
export interface LeaseInferenceTerms {
  readonly modelId: string;
  /** Minor units per million tokens (prompt and output alike) the trade price implies. */
  readonly pricePerMillionTokens: bigint;
  /** This lease's share of the bid's sized throughput, tokens/s, rounded down. */
  readonly outputTokensPerSecond: number;
  readonly promptTokensPerSecond: number;
  /** Per-token billing's take-or-pay share of each period's sized capacity (docs/INFERENCE.md). */
  readonly takeOrPayPercent: number;
}

/** The inference terms of a lease of `gpus` GPUs at `pricePerGpuHour` for an inference bid (its take-or-pay share too). */
export function leaseInferenceTerms(
  demand: InferenceDemandTerms,
  pricePerGpuHour: bigint,
  gpus: number,
): LeaseInferenceTerms {
  const hourly = tokensPerHour(demand.outputTokensPerSecond, demand.promptTokensPerSecond);
  return {
    modelId: demand.modelId,
    pricePerMillionTokens: pricePerMillionTokensOf(pricePerGpuHour, hourly, demand.sizedGpus),
    outputTokensPerSecond: throughputShare(demand.outputTokensPerSecond, gpus, demand.sizedGpus),
    promptTokensPerSecond: throughputShare(demand.promptTokensPerSecond, gpus, demand.sizedGpus),
    takeOrPayPercent: demand.takeOrPayPercent,
  };
}

/** A pair whose idle window has no start any more at the commit's instant (the run's was earlier). */
export class WindowClosedError extends Error {}

/**
 * The leases a run's fills become, one per (bid, offer) pair (docs/MATCHING.md "Results and
 * statuses"); a pair filled in two passes adds up into one lease. `feeBps`: the market's fee as
 * of the commit.
 */
export function leasesOf(
  orders: RunOrders,
  feeBps: number,
  fills: readonly Fill[],
  now: number,
  provisioningMs: number,
): LeaseTerms[] {
  const leases = new Map<string, LeaseTerms>();
  for (const fill of fills) {
    const bid = orders.bid(fill.bidId);
    const offer = orders.offer(fill.offerId);
    if (bid === undefined || offer === undefined) {
      throw new Error(`fill ${fill.bidId} x ${fill.offerId} names an order outside the book`);
    }
    const startsAt = offer.idle === undefined ? null : leaseStartOf(bid, offer, now);
    if (offer.idle !== undefined && startsAt === null) {
      throw new WindowClosedError(`offer ${offer.id} has no idle window for bid ${bid.id} at ${now}`);
    }
    const key = pairKey(bid.id, offer.id);
    const earlier = leases.get(key);
    const gpus = fill.gpus + (earlier?.gpus ?? 0);
    leases.set(key, {
      bidId: bid.id,
      offerId: offer.id,
      buyerOrganisationId: bid.organisationId,
      providerOrganisationId: offer.organisationId,
      siteId: offer.siteId,
      gpus,
      pricePerGpuHour: fill.price,
      providerAskPerGpuHour: offer.price,
      durationHours: bid.durationHours,
      billingMode: bid.billingMode,
      feeBps,
      payPerUseMinPercent: offer.payPerUseMinPercent,
      provisioningDeadline: (startsAt ?? now) + provisioningMs,
      startsAt,
      reclaimable: offer.idle !== undefined && bid.interruptible === true,
      inference: bid.inference === undefined ? null : leaseInferenceTerms(bid.inference, fill.price, gpus),
    });
  }
  return [...leases.values()];
}

/** Identifies a lease within one run. */
export function pairKey(bidId: string, offerId: string): string {
  return `${bidId}/${offerId}`;
}
