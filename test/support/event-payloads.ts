import { randomUUID } from 'node:crypto';
import type { EventPayloads } from '@/infra/events/event-catalogue';

// Well-shaped payloads for tests that record events by hand; the market names none that exists.
const NOWHERE = 'test-no-market';

export function offerPlacedPayload(): EventPayloads['offer.placed'] {
  return {
    offerId: randomUUID(),
    organisationId: randomUUID(),
    market: NOWHERE,
    siteId: randomUUID(),
    gpus: 8,
    pricePerGpuHour: '2.00',
    availableFrom: '2026-01-01T00:00:00.000Z',
    availableUntil: '2026-01-02T00:00:00.000Z',
    idleWindows: null,
    seq: '1',
  };
}

export function bidPlacedPayload(): EventPayloads['bid.placed'] {
  return {
    bidId: randomUUID(),
    organisationId: randomUUID(),
    market: NOWHERE,
    gpus: 8,
    maxPricePerGpuHour: '2.00',
    durationHours: 1,
    expiresAt: '2026-01-02T00:00:00.000Z',
    seq: '1',
  };
}

export function payoutPaidPayload(): EventPayloads['payout.paid'] {
  return {
    payoutId: randomUUID(),
    organisationId: randomUUID(),
    source: 'PROVIDER_EARNINGS',
    amount: '10.00',
    currency: 'EUR',
    bankReference: 'test',
  };
}
