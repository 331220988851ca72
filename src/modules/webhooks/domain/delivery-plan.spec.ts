import type { EventEnvelope } from '@/infra/events/event-envelope.dto';
import { EVERYONE } from '@/modules/events/domain/event-audience';
import { audienceOf, planDeliveries, type DispatchedEvent } from './delivery-plan';

const BUYER = '0193a0f6-6c52-7a4e-9a51-2f0a6f3c1d2e';
const PROVIDER = '0193a0f6-6c52-7a4e-9a51-2f0a6f3c1d2f';
const STRANGER = '0193a0f6-6c52-7a4e-9a51-2f0a6f3c1d30';

function event(seq: number, type: EventEnvelope['type'], payload: EventEnvelope['payload']): DispatchedEvent {
  const audience = type.startsWith('market.')
    ? [EVERYONE]
    : [payload.organisationId, payload.buyerOrganisationId, payload.providerOrganisationId].filter(
        (id): id is string => typeof id === 'string',
      );
  return {
    envelope: {
      id: `0193a0f6-0000-7000-8000-${String(seq).padStart(12, '0')}`,
      seq: String(seq),
      type,
      aggregateType: 'test',
      aggregateId: String(seq),
      occurredAt: '2026-12-01T00:00:00.000Z',
      payload,
    },
    audience,
  };
}

const bidPlaced = event(1, 'bid.placed', { bidId: 'b1', organisationId: BUYER });
const settled = event(2, 'period.settled', {
  leaseId: 'l1',
  buyerOrganisationId: BUYER,
  providerOrganisationId: PROVIDER,
  cost: '10.00',
  fee: '0.50',
  providerProceeds: '9.50',
});
const paused = event(3, 'market.paused', { market: 'nvidia-h100-80gb', status: 'PAUSED' });

const endpoint = (id: string, organisationId: string, eventTypes: string[] = []) => ({
  id,
  organisationId,
  eventTypes,
});

describe('planDeliveries', () => {
  it('delivers each event to the subscribed endpoints of its audience only', () => {
    const plan = planDeliveries(
      [bidPlaced, settled, paused],
      [
        endpoint('e-buyer', BUYER),
        endpoint('e-provider', PROVIDER, ['period.settled']),
        endpoint('e-x', STRANGER),
      ],
    );
    expect(plan.map((d) => `${d.eventSeq}:${d.endpointId}`)).toEqual([
      '1:e-buyer',
      '2:e-buyer',
      '2:e-provider',
      '3:e-buyer',
      '3:e-x',
    ]);
  });

  it('freezes the envelope with the payload shaped for the organisation', () => {
    const [buyer, provider] = planDeliveries(
      [settled],
      [endpoint('e-buyer', BUYER), endpoint('e-p', PROVIDER)],
    );
    const buyerBody = JSON.parse(buyer!.body) as EventEnvelope;
    expect(buyerBody).toMatchObject({ id: settled.envelope.id, seq: '2', type: 'period.settled' });
    expect(buyerBody.payload).toEqual({ leaseId: 'l1', buyerOrganisationId: BUYER, cost: '10.00' });
    expect((JSON.parse(provider!.body) as EventEnvelope).payload).toMatchObject({ fee: '0.50' });
  });

  it('plans nothing without endpoints', () => {
    expect(planDeliveries([bidPlaced, paused], [])).toEqual([]);
  });
});

describe('audienceOf', () => {
  it('names the organisations of a batch, or null when an event is for everyone', () => {
    expect(audienceOf([bidPlaced, settled])?.sort()).toEqual([BUYER, PROVIDER].sort());
    expect(audienceOf([bidPlaced, paused])).toBeNull();
  });
});
