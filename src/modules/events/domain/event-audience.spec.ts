import { EVENT_TYPES, type JsonObject } from '@/infra/events/event-catalogue';
import { AUDIENCE_RULES, canSee, eventAudience, EVERYONE, payloadFor } from './event-audience';

const BUYER = '0193a0f6-6c52-7a4e-9a51-2f0a6f3c1d2e';
const PROVIDER = '0193a0f6-6c52-7a4e-9a51-2f0a6f3c1d2f';
const STRANGER = '0193a0f6-6c52-7a4e-9a51-2f0a6f3c1d30';

const leaseCreated: JsonObject = {
  leaseId: '0193a0f6-0000-7000-8000-000000000001',
  market: 'nvidia-h100-80gb',
  bidId: '0193a0f6-0000-7000-8000-000000000002',
  offerId: '0193a0f6-0000-7000-8000-000000000003',
  buyerOrganisationId: BUYER,
  providerOrganisationId: PROVIDER,
  siteId: '0193a0f6-0000-7000-8000-000000000004',
  gpus: 4,
  pricePerGpuHour: '18.20',
  durationHours: 2,
  billingMode: 'RESERVED',
  provisioningDeadline: '2026-12-01T00:15:00.000Z',
  startsAt: null,
  reclaimable: false,
};

describe('eventAudience', () => {
  it('decides every catalogued type', () => {
    expect(Object.keys(AUDIENCE_RULES).sort()).toEqual([...EVENT_TYPES].sort());
  });

  it.each([
    'offer.placed',
    'bid.placed',
    'order.filled',
    'topup.confirmed',
    'organisation.verified',
    'organisation.suspended',
    'organisation.reinstated',
  ] as const)('%s goes to the organisation it names only', (type) => {
    expect(eventAudience(type, { organisationId: BUYER, buyerOrganisationId: PROVIDER })).toEqual([BUYER]);
  });

  it('sends lease events to both parties', () => {
    expect(eventAudience('lease.created', leaseCreated)).toEqual([BUYER, PROVIDER]);
  });

  it('sends market events to everyone', () => {
    expect(eventAudience('market.paused', { market: 'nvidia-h100-80gb', status: 'PAUSED' })).toEqual([
      EVERYONE,
    ]);
    expect(canSee([EVERYONE], STRANGER)).toBe(true);
  });

  it('sends an event whose payload lacks (or garbles) the named field to nobody', () => {
    expect(eventAudience('bid.placed', {})).toEqual([]);
    expect(eventAudience('bid.placed', { organisationId: 'not-a-uuid' })).toEqual([]);
    expect(eventAudience('bid.placed', { organisationId: 42 })).toEqual([]);
    expect(eventAudience('lease.created', { providerOrganisationId: PROVIDER })).toEqual([PROVIDER]);
  });

  it('normalises ids to lower case, as PostgreSQL prints uuids', () => {
    expect(eventAudience('bid.placed', { organisationId: BUYER.toUpperCase() })).toEqual([BUYER]);
    expect(canSee([BUYER], BUYER.toUpperCase())).toBe(true);
  });
});

describe('payloadFor', () => {
  it('hides the provider’s offer, site and identity from the buyer', () => {
    const seen = payloadFor('lease.created', leaseCreated, BUYER)!;
    expect(seen).not.toHaveProperty('offerId');
    expect(seen).not.toHaveProperty('siteId');
    expect(seen).not.toHaveProperty('providerOrganisationId');
    expect(seen).toMatchObject({
      leaseId: leaseCreated.leaseId as string,
      bidId: leaseCreated.bidId,
      gpus: 4,
    });
    expect(JSON.stringify(seen)).not.toContain(PROVIDER);
  });

  it('hides the buyer’s bid and identity from the provider', () => {
    const seen = payloadFor('lease.created', leaseCreated, PROVIDER)!;
    expect(seen).not.toHaveProperty('bidId');
    expect(seen).not.toHaveProperty('buyerOrganisationId');
    expect(seen).toMatchObject({ offerId: leaseCreated.offerId as string, siteId: leaseCreated.siteId });
    expect(JSON.stringify(seen)).not.toContain(BUYER);
  });

  it('shows the buyer a settled period’s cost, and only the provider its fee and proceeds', () => {
    const settled: JsonObject = {
      leaseId: leaseCreated.leaseId as string,
      market: 'nvidia-h100-80gb',
      buyerOrganisationId: BUYER,
      providerOrganisationId: PROVIDER,
      period: 0,
      cost: '36.40',
      fee: '1.82',
      providerProceeds: '34.58',
      currency: 'CNY',
    };
    const buyer = payloadFor('period.settled', settled, BUYER)!;
    expect(buyer).toMatchObject({ cost: '36.40', buyerOrganisationId: BUYER });
    for (const field of ['fee', 'providerProceeds', 'providerOrganisationId']) {
      expect(buyer).not.toHaveProperty(field);
    }
    const provider = payloadFor('period.settled', settled, PROVIDER)!;
    expect(provider).toMatchObject({ cost: '36.40', fee: '1.82', providerProceeds: '34.58' });
    expect(provider).not.toHaveProperty('buyerOrganisationId');
  });

  it.each([
    'lease.started',
    'lease.ended',
    'lease.terminated',
    'usage.reported',
    'dispute.opened',
    'dispute.resolved',
    'slo.credited',
  ] as const)('%s reaches both parties, the buyer without the provider’s identity', (type) => {
    const payload: JsonObject = {
      leaseId: leaseCreated.leaseId as string,
      offerId: leaseCreated.offerId as string,
      buyerOrganisationId: BUYER,
      providerOrganisationId: PROVIDER,
    };
    expect(eventAudience(type, payload)).toEqual([BUYER, PROVIDER]);
    expect(JSON.stringify(payloadFor(type, payload, BUYER))).not.toContain(PROVIDER);
    expect(JSON.stringify(payloadFor(type, payload, PROVIDER))).not.toContain(BUYER);
  });

  it('shows nothing to an organisation outside the audience', () => {
    expect(payloadFor('lease.created', leaseCreated, STRANGER)).toBeNull();
    expect(payloadFor('bid.placed', { organisationId: BUYER }, PROVIDER)).toBeNull();
  });

  it('shows owners and public events unchanged', () => {
    const bid = { organisationId: BUYER, bidId: leaseCreated.bidId as string, gpus: 2 };
    expect(payloadFor('bid.placed', bid, BUYER)).toEqual(bid);
    const paused = { market: 'nvidia-h100-80gb', status: 'PAUSED', at: '2026-12-01T00:00:00.000Z' };
    expect(payloadFor('market.paused', paused, STRANGER)).toEqual(paused);
  });
});
