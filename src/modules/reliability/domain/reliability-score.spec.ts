import fc from 'fast-check';
import {
  decayWeight,
  emptyTallies,
  reliabilityScore,
  type OutcomeTallies,
  type OutcomeTally,
} from './reliability-score';

const DAY = 86_400_000;
const tally = (count: number, weight = count): OutcomeTally => ({ count, weight });
const with_ = (parts: Partial<OutcomeTallies>): OutcomeTallies => ({ ...emptyTallies(), ...parts });

describe('reliabilityScore (docs/RELIABILITY.md, worked examples)', () => {
  it('R1: a provider with no outcomes gets the prior, 4 / 5 = 80, and is new', () => {
    expect(reliabilityScore(emptyTallies())).toEqual({
      score: 80,
      isNew: true,
      evidence: 0,
      components: {
        handover: { onTime: 0, late: 0, missed: 0, onTimeShare: null },
        delivery: {
          delivered: 0,
          endedWithNoticeByProvider: 0,
          endedEarlyByProvider: 0,
          deliveredShare: null,
        },
        slo: { met: 0, missed: 0, metShare: null },
        disputes: { lost: 0 },
      },
    });
  });

  it('R2: ten fresh leases handed over on time and delivered: (4 + 20) / (5 + 20) = 96.0', () => {
    const score = reliabilityScore(with_({ onTimeHandovers: tally(10), deliveredLeases: tally(10) }));
    expect(score.score).toBe(96);
    expect(score.isNew).toBe(false);
    expect(score.evidence).toBe(20);
    expect(score.components.handover.onTimeShare).toBe(1);
    expect(score.components.delivery.deliveredShare).toBe(1);
  });

  it('R3: one fresh missed handover: 4 / (5 + 1) = 66.7', () => {
    const score = reliabilityScore(with_({ missedHandovers: tally(1) }));
    expect(score.score).toBe(66.7);
    expect(score.isNew).toBe(true);
    expect(score.components.handover).toEqual({ onTime: 0, late: 0, missed: 1, onTimeShare: 0 });
  });

  it('R4: two late handovers count half good, half bad: (4 + 1) / (5 + 2) = 71.4', () => {
    expect(reliabilityScore(with_({ lateHandovers: tally(2) })).score).toBe(71.4);
  });

  it('R5: an early end a half-life ago weighs half: 8 on time + 7 delivered fresh, (4 + 15) / (5 + 15.5) = 92.7', () => {
    const score = reliabilityScore(
      with_({
        onTimeHandovers: tally(8),
        deliveredLeases: tally(7),
        providerEarlyEnds: tally(1, decayWeight(90 * DAY)),
      }),
    );
    expect(score.score).toBe(92.7);
    expect(score.components.delivery).toEqual({
      delivered: 7,
      endedWithNoticeByProvider: 0,
      endedEarlyByProvider: 1,
      deliveredShare: 0.875,
    });
  });

  it('R6: two notice ends count half good, half bad, as two late handovers: (4 + 1 + 2) / (5 + 4) = 77.8', () => {
    const score = reliabilityScore(with_({ onTimeHandovers: tally(2), providerNoticeEnds: tally(2) }));
    expect(score.score).toBe(77.8);
    expect(score.components.delivery).toEqual({
      delivered: 0,
      endedWithNoticeByProvider: 2,
      endedEarlyByProvider: 0,
      deliveredShare: 0,
    });
  });
});

describe('reliabilityScore with SLO outcomes and disputes (docs/RELIABILITY.md)', () => {
  it('R7: one lease, 24 periods of which 6 missed its SLO, is one trial split 0.75 / 0.25: (4 + 2 + 0.75) / (5 + 3) = 84.4', () => {
    const score = reliabilityScore(
      with_({
        onTimeHandovers: tally(1),
        deliveredLeases: tally(1),
        sloMet: tally(18, 0.75),
        sloMissed: tally(6, 0.25),
      }),
    );
    expect(score.score).toBe(84.4);
    expect(score.components.slo).toEqual({ met: 18, missed: 6, metShare: 0.75 });
  });

  it('R8: a dispute lost is one bad trial: R2 with one lost, (4 + 20) / (5 + 21) = 92.3', () => {
    const score = reliabilityScore(
      with_({ onTimeHandovers: tally(10), deliveredLeases: tally(10), disputesLost: tally(1) }),
    );
    expect(score.score).toBe(92.3);
    expect(score.components.disputes).toEqual({ lost: 1 });
  });
});

describe('decayWeight', () => {
  it('halves every 90 days and never exceeds 1', () => {
    expect(decayWeight(0)).toBe(1);
    expect(decayWeight(90 * DAY)).toBeCloseTo(0.5, 12);
    expect(decayWeight(180 * DAY)).toBeCloseTo(0.25, 12);
    expect(decayWeight(-DAY)).toBe(1);
  });
});

describe('reliabilityScore properties', () => {
  const tallies = fc.record({
    onTimeHandovers: fc.record({ count: fc.nat(50), weight: fc.double({ min: 0, max: 50, noNaN: true }) }),
    lateHandovers: fc.record({ count: fc.nat(50), weight: fc.double({ min: 0, max: 50, noNaN: true }) }),
    missedHandovers: fc.record({ count: fc.nat(50), weight: fc.double({ min: 0, max: 50, noNaN: true }) }),
    deliveredLeases: fc.record({ count: fc.nat(50), weight: fc.double({ min: 0, max: 50, noNaN: true }) }),
    providerEarlyEnds: fc.record({ count: fc.nat(50), weight: fc.double({ min: 0, max: 50, noNaN: true }) }),
    providerNoticeEnds: fc.record({ count: fc.nat(50), weight: fc.double({ min: 0, max: 50, noNaN: true }) }),
    sloMet: fc.record({ count: fc.nat(50), weight: fc.double({ min: 0, max: 50, noNaN: true }) }),
    sloMissed: fc.record({ count: fc.nat(50), weight: fc.double({ min: 0, max: 50, noNaN: true }) }),
    disputesLost: fc.record({ count: fc.nat(50), weight: fc.double({ min: 0, max: 50, noNaN: true }) }),
  });
  const plus = (t: OutcomeTally, w: number): OutcomeTally => ({ count: t.count + 1, weight: t.weight + w });

  it('stays within (0, 100]', () => {
    fc.assert(
      fc.property(tallies, (t) => {
        const { score } = reliabilityScore(t);
        return score > 0 && score <= 100;
      }),
    );
  });

  it('a good outcome never lowers the score, a bad one never raises it', () => {
    fc.assert(
      fc.property(tallies, fc.double({ min: 0.01, max: 1, noNaN: true }), (t, w) => {
        const base = reliabilityScore(t).score;
        const better = reliabilityScore({ ...t, deliveredLeases: plus(t.deliveredLeases, w) }).score;
        const worse = reliabilityScore({ ...t, missedHandovers: plus(t.missedHandovers, w) }).score;
        const early = reliabilityScore({ ...t, providerEarlyEnds: plus(t.providerEarlyEnds, w) }).score;
        const notice = reliabilityScore({ ...t, providerNoticeEnds: plus(t.providerNoticeEnds, w) }).score;
        const met = reliabilityScore({ ...t, sloMet: plus(t.sloMet, w) }).score;
        const missed = reliabilityScore({ ...t, sloMissed: plus(t.sloMissed, w) }).score;
        const lost = reliabilityScore({ ...t, disputesLost: plus(t.disputesLost, w) }).score;
        // Notice is better than an early end, no better than a delivery.
        return (
          better >= base &&
          worse <= base &&
          early <= notice &&
          notice <= better &&
          met >= base &&
          missed <= base &&
          lost <= base
        );
      }),
    );
  });
});
