import fc from 'fast-check';
import { DomainError } from '@/shared/domain-error';
import {
  checkEvidence,
  contestable,
  decidePeriod,
  disputeClosesAt,
  evidenceDigest,
  evidenceKey,
  objectivesMissed,
  parseOfferSlo,
  percentToBps,
  sloCredit,
  type SignedEvidenceFields,
  type Slo,
  type SloMeasures,
} from './slo-rules';

const INFERENCE: Slo = {
  availabilityBps: 9_950,
  ttftP95Ms: 500,
  outputTokensPerSecondPerGpu: 250,
  creditPercent: 10,
};
const PLAIN: Slo = { availabilityBps: 9_900, creditPercent: 25 };
const measures = (m: Partial<SloMeasures>): SloMeasures => ({
  availabilityBps: null,
  ttftP95Ms: null,
  outputTokensPerSecondPerGpu: null,
  ...m,
});
const fieldOf = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (error) {
    return error instanceof DomainError ? error.details?.field : error;
  }
  return undefined;
};

describe('parseOfferSlo (docs/SLO.md, "An offer\'s SLO")', () => {
  it('stores availability in basis points and defaults the credit to 10%', () => {
    expect(parseOfferSlo({ availabilityPercent: 99.5 })).toEqual({
      availabilityBps: 9_950,
      creditPercent: 10,
    });
    expect(
      parseOfferSlo({
        availabilityPercent: 99.99,
        ttftP95Ms: 500,
        outputTokensPerSecondPerGpu: 250,
        creditPercent: 100,
      }),
    ).toEqual({
      availabilityBps: 9_999,
      ttftP95Ms: 500,
      outputTokensPerSecondPerGpu: 250,
      creditPercent: 100,
    });
  });

  it.each([
    [{ availabilityPercent: 100 }, 'slo.availabilityPercent'],
    [{ availabilityPercent: 89.99 }, 'slo.availabilityPercent'],
    [{ availabilityPercent: 99.955 }, 'slo.availabilityPercent'],
    [{ availabilityPercent: Number.NaN }, 'slo.availabilityPercent'],
    [{ availabilityPercent: 99, creditPercent: 0 }, 'slo.creditPercent'],
    [{ availabilityPercent: 99, creditPercent: 101 }, 'slo.creditPercent'],
    [{ availabilityPercent: 99, creditPercent: 5.5 }, 'slo.creditPercent'],
    [{ availabilityPercent: 99, ttftP95Ms: 0 }, 'slo.ttftP95Ms'],
    [{ availabilityPercent: 99, ttftP95Ms: 600_001 }, 'slo.ttftP95Ms'],
    [{ availabilityPercent: 99, outputTokensPerSecondPerGpu: 0 }, 'slo.outputTokensPerSecondPerGpu'],
    [{ availabilityPercent: 99, outputTokensPerSecondPerGpu: 1.5 }, 'slo.outputTokensPerSecondPerGpu'],
  ])('refuses %j, naming %s', (input, field) => {
    expect(fieldOf(() => parseOfferSlo(input))).toBe(field);
  });

  it('reads percentages with at most two decimals exactly', () => {
    expect(percentToBps(99.95)).toBe(9_995);
    expect(percentToBps(0.07)).toBe(7);
    expect(percentToBps(99.951)).toBeNull();
  });
});

describe('checkEvidence', () => {
  it("takes a provider's report of every objective, and a buyer's probe of one", () => {
    expect(() =>
      checkEvidence(INFERENCE, {
        source: 'PROVIDER',
        method: 'REPORT',
        ...measures({ availabilityBps: 10_000, ttftP95Ms: 300, outputTokensPerSecondPerGpu: 400 }),
      }),
    ).not.toThrow();
    expect(() =>
      checkEvidence(INFERENCE, { source: 'BUYER', method: 'PROBE', ...measures({ ttftP95Ms: 900 }) }),
    ).not.toThrow();
  });

  it('refuses a provider report missing an objective, a provider probe, an empty buyer report and an objective the SLO lacks', () => {
    expect(
      fieldOf(() =>
        checkEvidence(INFERENCE, {
          source: 'PROVIDER',
          method: 'REPORT',
          ...measures({ availabilityBps: 10_000 }),
        }),
      ),
    ).toBe('ttftP95Ms');
    expect(
      fieldOf(() =>
        checkEvidence(PLAIN, { source: 'PROVIDER', method: 'PROBE', ...measures({ availabilityBps: 1 }) }),
      ),
    ).toBe('method');
    expect(fieldOf(() => checkEvidence(PLAIN, { source: 'BUYER', method: 'REPORT', ...measures({}) }))).toBe(
      'availabilityPercent',
    );
    expect(
      fieldOf(() =>
        checkEvidence(PLAIN, {
          source: 'BUYER',
          method: 'PROBE',
          ...measures({ availabilityBps: 9_000, ttftP95Ms: 9 }),
        }),
      ),
    ).toBe('ttftP95Ms');
  });
});

describe('decidePeriod (docs/SLO.md, "Which evidence counts")', () => {
  const met = measures({ availabilityBps: 9_990, ttftP95Ms: 400, outputTokensPerSecondPerGpu: 300 });
  const slow = measures({ availabilityBps: 9_990, ttftP95Ms: 501, outputTokensPerSecondPerGpu: 300 });
  const down = measures({ availabilityBps: 9_000 });

  it('S1: both sides show it met: met', () => {
    expect(decidePeriod(INFERENCE, met, met, null)).toEqual({
      outcome: 'MET',
      reason: 'MET',
      objectivesMissed: [],
    });
  });

  it('S2: only the buyer shows a miss, not disputed: missed on its evidence', () => {
    expect(decidePeriod(INFERENCE, met, down, null)).toEqual({
      outcome: 'MISSED',
      reason: 'BUYER_REPORTED',
      objectivesMissed: ['AVAILABILITY'],
    });
  });

  it('S3: the provider reported nothing: missed, whatever the buyer says', () => {
    expect(decidePeriod(INFERENCE, null, null, null).reason).toBe('PROVIDER_SILENT');
    expect(decidePeriod(INFERENCE, null, met, null).outcome).toBe('MISSED');
  });

  it("S4: the provider's own report shows a miss: missed", () => {
    expect(decidePeriod(INFERENCE, slow, met, null)).toEqual({
      outcome: 'MISSED',
      reason: 'PROVIDER_REPORTED',
      objectivesMissed: ['TTFT_P95'],
    });
  });

  it("S5: an admin's decision stands over the evidence", () => {
    expect(decidePeriod(INFERENCE, met, down, 'MET').outcome).toBe('MET');
    expect(decidePeriod(INFERENCE, met, down, 'MISSED').reason).toBe('DISPUTE_MISSED');
  });

  it('only a miss shown by the buyer and not by the provider is contestable', () => {
    expect(contestable(INFERENCE, met, down)).toBe(true);
    expect(contestable(INFERENCE, slow, down)).toBe(false);
    expect(contestable(INFERENCE, met, met)).toBe(false);
    expect(contestable(INFERENCE, null, down)).toBe(false);
  });

  it('measures at the target meet it; one unit worse misses it', () => {
    const at = measures({ availabilityBps: 9_950, ttftP95Ms: 500, outputTokensPerSecondPerGpu: 250 });
    expect(objectivesMissed(INFERENCE, at)).toEqual([]);
    expect(
      objectivesMissed(
        INFERENCE,
        measures({ availabilityBps: 9_949, ttftP95Ms: 501, outputTokensPerSecondPerGpu: 249 }),
      ),
    ).toEqual(['AVAILABILITY', 'TTFT_P95', 'THROUGHPUT']);
  });
});

describe('sloCredit', () => {
  it('C1: 10% of a 36.40 charge with a 3% fee: 3.64', () => {
    expect(sloCredit(3_640n, 3_640n - 109n, 10)).toBe(364n);
  });

  it("C2: 100% is capped at the period's proceeds net of the fee (cost - fee)", () => {
    expect(sloCredit(3_640n, 3_640n - 109n, 100)).toBe(3_531n);
  });

  it("C3: per token the cap is the provider's payout net of the fee, not charge - fee", () => {
    // Charge 36.40, payout capped at 20.00, 3% fee of the payout 0.60: the provider earned 19.40.
    expect(sloCredit(3_640n, 2_000n - 60n, 100)).toBe(1_940n);
    expect(sloCredit(3_640n, 2_000n - 60n, 10)).toBe(364n);
  });

  it('never exceeds the proceeds net of fee nor goes below zero', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        (cost, bps, percent, paidPercent) => {
          const payout = (cost * BigInt(paidPercent)) / 100n;
          const net = payout - (payout * BigInt(bps)) / 10_000n;
          const credit = sloCredit(cost, net, percent);
          return credit >= 0n && credit <= net && credit <= (cost * BigInt(percent)) / 100n;
        },
      ),
    );
  });
});

describe('evidence digest', () => {
  const fields: SignedEvidenceFields = {
    leaseId: '0190e1a2-0000-7000-8000-000000000001',
    periodIndex: 3,
    periodStart: new Date('2026-12-05T10:00:00Z'),
    source: 'BUYER',
    method: 'PROBE',
    ...measures({ availabilityBps: 9_200 }),
    note: null,
    signerKind: 'api_key',
    signerId: '0190e1a2-0000-7000-8000-000000000002',
    submittedAt: new Date('2026-12-05T11:05:00Z'),
  };
  const key = evidenceKey('p'.repeat(32));

  it('is the same for the same evidence and changes with any field or key', () => {
    const digest = evidenceDigest(fields, key);
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(evidenceDigest({ ...fields }, key)).toBe(digest);
    expect(evidenceDigest({ ...fields, availabilityBps: 9_201 }, key)).not.toBe(digest);
    expect(evidenceDigest({ ...fields, signerId: fields.leaseId }, key)).not.toBe(digest);
    expect(evidenceDigest(fields, evidenceKey('q'.repeat(32)))).not.toBe(digest);
  });

  it('the dispute window follows the evidence window', () => {
    expect(disputeClosesAt(new Date('2026-12-05T11:00:00Z'), 15 * 60_000, 30 * 60_000).toISOString()).toBe(
      '2026-12-05T11:45:00.000Z',
    );
  });
});
