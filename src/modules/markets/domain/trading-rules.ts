import type { OrganisationStatus } from '@/generated/prisma/enums';
import { DomainError } from '@/shared/domain-error';
import { assertNotSuspended } from '@/infra/auth/suspension';

/**
 * Live orders an organisation may have at once: bids OPEN or PARTIALLY_FILLED, offers OPEN,
 * PARTIALLY_FILLED or FILLED (a filled offer regains capacity when its leases end). Bounds the
 * work one tenant can put on every matching run of a market.
 */
export const MAX_LIVE_ORDERS_PER_ORGANISATION = 1_000;

/** Highest platform fee an admin may set, in basis points (50 %): a provider keeps at least half. */
export const MAX_MARKET_FEE_BPS = 5_000;

/** Sites per provider organisation. */
export const MAX_SITES_PER_ORGANISATION = 500;

/** Refuses a new order when the organisation already holds the maximum of live orders. */
export function assertLiveOrderCapacity(liveOrders: number): void {
  if (liveOrders >= MAX_LIVE_ORDERS_PER_ORGANISATION) {
    throw new DomainError(
      'CONFLICT',
      `Open order limit reached: an organisation may have at most ${MAX_LIVE_ORDERS_PER_ORGANISATION} open orders. Cancel some first.`,
      { reason: 'OPEN_ORDER_LIMIT', limit: MAX_LIVE_ORDERS_PER_ORGANISATION },
    );
  }
}

/** Refuses a new site when the organisation already has the maximum. */
export function assertSiteCapacity(sites: number): void {
  if (sites >= MAX_SITES_PER_ORGANISATION) {
    throw new DomainError(
      'CONFLICT',
      `Site limit reached: an organisation may have at most ${MAX_SITES_PER_ORGANISATION} sites.`,
      { reason: 'SITE_LIMIT', limit: MAX_SITES_PER_ORGANISATION },
    );
  }
}

/** A suspended organisation is read-only (DESIGN, Organisations): it may not create or change orders. */
export function assertMayTrade(status: OrganisationStatus): void {
  assertNotSuspended(status);
}

/** Markets take new orders only while ACTIVE; a paused market still allows amending and cancelling. */
export function assertAcceptsOrders(market: { slug: string; status: 'ACTIVE' | 'PAUSED' }): void {
  if (market.status !== 'ACTIVE') {
    throw new DomainError('CONFLICT', `Market ${market.slug} is paused and accepts no new orders.`, {
      reason: 'MARKET_PAUSED',
      market: market.slug,
    });
  }
}
