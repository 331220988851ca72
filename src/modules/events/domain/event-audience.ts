import type { EventType, JsonObject } from '@/infra/events/event-catalogue';

/**
 * Who may see an event on the live stream and through webhooks, and what each of them sees.
 * Pure: the outbox stores the audience when the event is recorded, the stream and the webhook
 * consumer shape the payload per organisation when they send it.
 */

/** Stored in `outbox_events.audience` for events every organisation may see. */
export const EVERYONE = '00000000-0000-0000-0000-000000000000';

/**
 * - `owner`: the organisation in `payload.organisationId` (its own orders, top-ups, verification).
 * - `parties`: the buyer and the provider a lease-related payload names; each sees its own side.
 * - `everyone`: public market facts (pause, resume, fee) that GET /v1/markets shows to anyone.
 */
export type AudienceRule = 'owner' | 'parties' | 'everyone';

// A Record, not a default: a type added to the catalogue does not compile until someone decides
// who may see it.
export const AUDIENCE_RULES: Record<EventType, AudienceRule> = {
  'offer.placed': 'owner',
  'offer.amended': 'owner',
  'offer.cancelled': 'owner',
  'offer.serving_changed': 'owner',
  'bid.placed': 'owner',
  'bid.cancelled': 'owner',
  'bid.replacement_refused': 'owner',
  'order.expired': 'owner',
  'order.filled': 'owner',
  'lease.created': 'parties',
  'lease.started': 'parties',
  'lease.ended': 'parties',
  'lease.terminated': 'parties',
  'lease.termination_scheduled': 'parties',
  'lease.extended': 'parties',
  'lease.failure_reported': 'parties',
  'lease.report_decided': 'parties',
  'lease.reclaimed': 'parties',
  'usage.reported': 'parties',
  'period.settled': 'parties',
  'dispute.opened': 'parties',
  'dispute.resolved': 'parties',
  'slo.credited': 'parties',
  'topup.confirmed': 'owner',
  'payout.paid': 'owner',
  'balance.low': 'owner',
  'organisation.verified': 'owner',
  'organisation.suspended': 'owner',
  'organisation.reinstated': 'owner',
  'market.paused': 'everyone',
  'market.resumed': 'everyone',
  'market.fee_changed': 'everyone',
  'market.matching_changed': 'everyone',
};

/**
 * Fields of a lease-related payload that belong to one side only: listings are anonymous, so
 * the provider's offer, site and identity are not the buyer's to see, nor the buyer's bid and
 * identity the provider's. Both see the lease itself.
 */
const PROVIDER_ONLY = ['offerId', 'siteId', 'providerOrganisationId'] as const;
const BUYER_ONLY = ['bidId', 'buyerOrganisationId'] as const;

/**
 * One-sided money of a type: a settled period's `cost` is what the buyer pays, and both see it;
 * the exchange's `fee` and the provider's `providerProceeds` are the provider's business.
 */
const PROVIDER_ONLY_OF: Partial<Record<EventType, readonly string[]>> = {
  'period.settled': ['fee', 'providerProceeds'],
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function organisationIn(payload: JsonObject, field: string): string | undefined {
  const value = payload[field];
  return typeof value === 'string' && UUID.test(value) ? value.toLowerCase() : undefined;
}

/**
 * The organisation ids that may see an event, or [EVERYONE]. A payload that lacks the field its
 * rule names is seen by nobody: a missing field must never widen the audience.
 */
export function eventAudience(type: EventType, payload: JsonObject): string[] {
  switch (AUDIENCE_RULES[type]) {
    case 'everyone':
      return [EVERYONE];
    case 'owner': {
      const owner = organisationIn(payload, 'organisationId');
      return owner === undefined ? [] : [owner];
    }
    case 'parties': {
      const ids = [
        organisationIn(payload, 'buyerOrganisationId'),
        organisationIn(payload, 'providerOrganisationId'),
      ];
      return [...new Set(ids.filter((id): id is string => id !== undefined))];
    }
  }
}

/** Whether `organisationId` is in a stored audience. */
export function canSee(audience: readonly string[], organisationId: string): boolean {
  return audience.includes(EVERYONE) || audience.includes(organisationId.toLowerCase());
}

/**
 * The payload as `organisationId` may see it: unchanged for owners and public events; for lease
 * parties without the other side's private fields. Null when the organisation is not in the
 * audience at all.
 */
export function payloadFor(type: EventType, payload: JsonObject, organisationId: string): JsonObject | null {
  const viewer = organisationId.toLowerCase();
  if (!canSee(eventAudience(type, payload), viewer)) return null;
  if (AUDIENCE_RULES[type] !== 'parties') return payload;
  const buyer = organisationIn(payload, 'buyerOrganisationId');
  const provider = organisationIn(payload, 'providerOrganisationId');
  const hidden = new Set<string>();
  // One organisation cannot be both buyer and provider (one role each); hide nothing then.
  if (viewer === buyer && viewer !== provider) {
    [...PROVIDER_ONLY, ...(PROVIDER_ONLY_OF[type] ?? [])].forEach((f) => hidden.add(f));
  }
  if (viewer === provider && viewer !== buyer) BUYER_ONLY.forEach((f) => hidden.add(f));
  return Object.fromEntries(Object.entries(payload).filter(([field]) => !hidden.has(field)));
}
