import { payloadJson, type NewEvent } from './event-catalogue';

// The compile-time half of these tests is `tsc --noEmit` (npm run typecheck): each expected
// error below fails the typecheck the day the compiler accepts that event.
const bidPlaced = {
  bidId: 'b',
  organisationId: 'o',
  market: 'm',
  gpus: 8,
  maxPricePerGpuHour: '2.00',
  durationHours: 1,
  expiresAt: '2026-01-01T00:00:00.000Z',
  seq: '1',
};
const { seq: _seq, ...withoutSeq } = bidPlaced;

describe('NewEvent', () => {
  it('accepts a payload of its type and refuses any other shape at compile time', () => {
    const events: NewEvent[] = [
      { type: 'bid.placed', aggregateType: 'bid', aggregateId: 'b', payload: bidPlaced },
      {
        type: 'bid.placed',
        aggregateType: 'bid',
        aggregateId: 'b',
        // @ts-expect-error a field of the type is missing
        payload: withoutSeq,
      },
      {
        type: 'bid.placed',
        aggregateType: 'bid',
        aggregateId: 'b',
        // @ts-expect-error a field has the wrong JSON type
        payload: { ...bidPlaced, gpus: '8' },
      },
      // @ts-expect-error another type's payload
      { type: 'offer.placed', aggregateType: 'offer', aggregateId: 'b', payload: bidPlaced },
      {
        type: 'market.paused',
        aggregateType: 'market',
        aggregateId: 'm',
        // @ts-expect-error a field the type does not have
        payload: { market: 'm', status: 'PAUSED', at: '2026-01-01T00:00:00.000Z', why: 'y' },
      },
    ];
    expect(events).toHaveLength(5);
  });

  it('stores a payload without its absent optional fields, as JSON.stringify would', () => {
    const payload = { offerId: 'o', gpus: 2, reason: undefined };
    expect(Object.keys(payloadJson(payload))).toEqual(['offerId', 'gpus']);
    expect(JSON.stringify(payloadJson(payload))).toBe(JSON.stringify(payload));
  });
});
