import fc from 'fast-check';
import {
  pricePerMillionTokensOf,
  throughputShare,
  tokensPerHour,
} from '@/modules/inference/domain/inference-pricing';
import { costMinor } from '@/shared/money';
import { periodsOf } from '@/shared/periods';
import { leaseHold, settlementMode, settlesAt, type SettlingLease } from './settlement-rules';
import {
  chargeTokenPeriod,
  isTokenBilled,
  providerNet,
  settlementTransferOf,
  standingCounts,
  tokenPeriodTransfer,
  type TokenBillingTerms,
} from './token-settlement-rules';

const START = new Date('2026-12-05T10:00:00.000Z');
const HOUR_MS = 3_600_000;

/**
 * The worked example of docs/INFERENCE.md "Per-token billing": the 2 GPUs at 30.00 of the
 * inference-bids example, 12.50 per million, 666 + 666 tokens/s, take-or-pay 50%, an offer with a
 * 30% pay-per-use floor, a 3% fee.
 */
function lease(
  over: Partial<SettlingLease> = {},
  terms: Partial<TokenBillingTerms> = {},
): SettlingLease & {
  tokenBilling: TokenBillingTerms;
} {
  return {
    id: '00000000-0000-7000-8000-000000000001',
    buyerOrganisationId: 'buyer',
    providerOrganisationId: 'provider',
    currency: 'CNY',
    gpus: 2,
    pricePerGpuHour: 3_000n,
    durationHours: 3,
    billingMode: 'RESERVED',
    feeBps: 300,
    payPerUseMinPercent: 30,
    periodSeconds: 3_600,
    status: 'ACTIVE',
    terminationReason: null,
    startedAt: START,
    endAt: new Date(START.getTime() + 3 * HOUR_MS),
    ...over,
    tokenBilling: {
      pricePerMillionTokens: 1_250n,
      promptTokensPerSecond: 666,
      outputTokensPerSecond: 666,
      takeOrPayPercent: 50,
      providerAskPerGpuHour: 3_000n,
      ...terms,
    },
  };
}

const firstPeriod = (l: SettlingLease) => periodsOf(l)[0]!;
const counts = (promptTokens: bigint, outputTokens: bigint) => ({ promptTokens, outputTokens });

/** Each account's movement in a transfer, by "owner:kind". */
function movements(transfer: ReturnType<typeof tokenPeriodTransfer>): Map<string, bigint> {
  const moved = new Map<string, bigint>();
  for (const entry of transfer?.entries ?? []) {
    moved.set(`${entry.account.organisationId ?? 'platform'}:${entry.account.kind}`, entry.amount);
  }
  return moved;
}

describe('per-token period charges (docs/INFERENCE.md "Per-token billing")', () => {
  it('charges the tokens that stand at the price per million; the payout at the ask is capped by that charge', () => {
    const l = lease();
    const charge = chargeTokenPeriod(l, firstPeriod(l), counts(3_000_000n, 1_000_000n));
    // capacity 1,332 x 3,600 = 4,795,200 tokens; 4,000,000 x 12.50 / 1,000,000 = 50.00
    expect(charge.tokens.capacityTokens).toBe(4_795_200n);
    expect(charge.tokens.minimumTokens).toBe(2_397_600n);
    expect(charge.basis).toBe('TOKENS');
    expect(charge.tokens.billedTokens).toBe(4_000_000n);
    expect(charge.cost).toBe(5_000n);
    // GPU-seconds used: 7,200 x 4,000,000 / 4,795,200 = 6,006; at 30.00: 50.05 > 50.00 charged
    expect(charge.gpuSeconds).toBe(6_006n);
    expect(charge.tokens.payoutBasis).toBe('CAPPED');
    expect(charge.tokens.payout).toBe(5_000n);
    expect(charge.tokens.spread).toBe(0n);
    expect(charge.fee).toBe(150n);
    expect(providerNet(charge)).toBe(4_850n);
  });

  it('a colluding pair reporting zero tokens pays the take-or-pay minimum and gets back at most the floor, less the fee', () => {
    const l = lease();
    const charge = chargeTokenPeriod(l, firstPeriod(l), counts(0n, 0n));
    // 2,397,600 tokens x 12.50 per million = 29.97; the 30% floor: 2,160 GPU-seconds at 30.00 = 18.00
    expect(charge.basis).toBe('TAKE_OR_PAY');
    expect(charge.cost).toBe(2_997n);
    expect(charge.tokens.payoutBasis).toBe('FLOOR');
    expect(charge.tokens.payout).toBe(1_800n);
    expect(charge.tokens.spread).toBe(1_197n);
    expect(charge.fee).toBe(54n);
    const moved = movements(tokenPeriodTransfer(l, charge));
    expect(moved.get('buyer:BUYER_HELD')).toBe(-2_997n);
    expect(moved.get('provider:PROVIDER_EARNINGS')).toBe(1_746n);
    expect(moved.get('platform:PLATFORM_FEES')).toBe(54n);
    expect(moved.get('platform:PLATFORM_SPREAD')).toBe(1_197n);
    // The one owner of both sides loses money on every such period: no free payout.
    expect(moved.get('provider:PROVIDER_EARNINGS')! + moved.get('buyer:BUYER_HELD')!).toBeLessThan(0n);
  });

  it('with no take-or-pay, zero tokens charge nothing and pay nothing, whatever the floor', () => {
    const l = lease({ payPerUseMinPercent: 100 }, { takeOrPayPercent: 0 });
    const charge = chargeTokenPeriod(l, firstPeriod(l), null);
    expect(charge.cost).toBe(0n);
    expect(charge.tokens.payout).toBe(0n);
    expect(charge.tokens.payoutBasis).toBe('CAPPED');
    expect(charge.tokens.reported).toBe(false);
    expect(tokenPeriodTransfer(l, charge)).toBeNull();
  });

  it("a floor above the buyer's minimum is paid only up to the charge", () => {
    const l = lease({ payPerUseMinPercent: 80 });
    const charge = chargeTokenPeriod(l, firstPeriod(l), counts(0n, 0n));
    expect(charge.tokens.payout).toBe(charge.cost);
    expect(charge.tokens.payoutBasis).toBe('CAPPED');
    expect(charge.tokens.spread).toBe(0n);
  });

  it('a share at least the floor pays the floor up to the rounding of the charge (why matching needs t >= f)', () => {
    // The worked example's lease: 8.33 per million, 1,000 + 1,000 tokens/s, a 30% floor at 30.00.
    const example = { pricePerMillionTokens: 833n, promptTokensPerSecond: 1000, outputTokensPerSecond: 1000 };
    const idle = (takeOrPayPercent: number) => {
      const l = lease({ payPerUseMinPercent: 30 }, { ...example, takeOrPayPercent });
      return chargeTokenPeriod(l, firstPeriod(l), counts(0n, 0n)).tokens;
    };
    // The floor: 30% of 7,200 GPU-seconds at 30.00 = 18.00.
    expect(idle(50)).toMatchObject({ payout: 1_800n, payoutBasis: 'FLOOR' });
    // t = f: 2,160,000 tokens x 8.33 = 17.99, the floor less the minor unit rounding took.
    expect(idle(30)).toMatchObject({ payout: 1_799n, payoutBasis: 'CAPPED' });
    // t < f, which rule 4 (TAKE_OR_PAY) no longer matches: the cap would take a third of the floor.
    expect(idle(20)).toMatchObject({ payout: 1_199n, payoutBasis: 'CAPPED' });
  });

  it('pays the provider at its own ask when the bid rested first and traded above it; the difference is spread', () => {
    // The bid's maximum 30.00 was the trade price, the offer asked 24.00 (docs/MATCHING.md).
    const l = lease({}, { providerAskPerGpuHour: 2_400n });
    const charge = chargeTokenPeriod(l, firstPeriod(l), counts(3_000_000n, 1_000_000n));
    // The buyer pays the same 50.00; 6,006 GPU-seconds at 24.00 = 40.04, not 50.05 at 30.00.
    expect(charge.cost).toBe(5_000n);
    expect(charge.gpuSeconds).toBe(6_006n);
    expect(charge.tokens.payoutBasis).toBe('USED');
    expect(charge.tokens.payout).toBe(4_004n);
    expect(charge.tokens.spread).toBe(996n);
    expect(charge.fee).toBe(120n);
    const moved = movements(tokenPeriodTransfer(l, charge));
    expect(moved.get('buyer:BUYER_HELD')).toBe(-5_000n);
    expect(moved.get('provider:PROVIDER_EARNINGS')).toBe(3_884n);
    expect(moved.get('platform:PLATFORM_FEES')).toBe(120n);
    expect(moved.get('platform:PLATFORM_SPREAD')).toBe(996n);
  });

  it('tokens beyond the sized capacity are not charged: the charge stays within the GPU-hours', () => {
    const l = lease();
    const charge = chargeTokenPeriod(l, firstPeriod(l), counts(5_000_000n, 1_000_000n));
    expect(charge.tokens.billedTokens).toBe(4_795_200n);
    expect(charge.cost).toBe(5_994n);
    expect(charge.cost).toBeLessThanOrEqual(costMinor(l.pricePerGpuHour, 7_200n));
    expect(charge.gpuSeconds).toBe(7_200n);
    expect(charge.tokens.payout).toBe(5_994n);
  });

  it('a period the provider cut short waives both minimums, and prorates the capacity', () => {
    const end = new Date(START.getTime() + 30 * 60_000);
    const l = lease({ status: 'TERMINATED', terminationReason: 'PROVIDER_REQUEST', endAt: end });
    const charge = chargeTokenPeriod(l, firstPeriod(l), counts(0n, 0n));
    expect(charge.tokens.capacityTokens).toBe(1_332n * 1_800n);
    expect(charge.tokens.minimumTokens).toBe(0n);
    expect(charge.cost).toBe(0n);
    expect(charge.tokens.payout).toBe(0n);
    // The buyer's own early end keeps the minimum, on the shorter period.
    const buyerEnd = lease({ status: 'TERMINATED', terminationReason: 'BUYER_REQUEST', endAt: end });
    expect(chargeTokenPeriod(buyerEnd, firstPeriod(buyerEnd), null).tokens.minimumTokens).toBe(1_198_800n);
  });

  it('per-token periods wait for the report grace; GPU leases keep their timing', () => {
    const l = lease();
    const period = firstPeriod(l);
    expect(isTokenBilled(l)).toBe(true);
    expect(settlementMode(l)).toBe('PER_TOKEN');
    expect(settlesAt(period, settlementMode(l), 15 * 60_000)).toEqual(
      new Date(START.getTime() + HOUR_MS + 900_000),
    );
    const gpu = { ...l, tokenBilling: null };
    expect(settlementMode(gpu)).toBe('RESERVED');
    expect(settlesAt(period, settlementMode(gpu), 900_000)).toEqual(period.endsAt);
  });

  it('routes a period to its own transfer: per token with a spread entry, else the GPU-second transfer', () => {
    const l = lease();
    const charge = chargeTokenPeriod(l, firstPeriod(l), counts(0n, 0n));
    expect(settlementTransferOf(l, charge)?.entries).toHaveLength(4);
    const { tokens: _tokens, ...gpuCharge } = charge;
    expect(
      settlementTransferOf(l, gpuCharge)?.entries.some((e) => e.account.kind === 'PLATFORM_SPREAD'),
    ).toBe(false);
  });

  it('refuses negative counts', () => {
    const l = lease();
    expect(() => chargeTokenPeriod(l, firstPeriod(l), counts(-1n, 0n))).toThrow(RangeError);
  });
});

describe('per-token money, any lease and any counts (fast-check)', () => {
  // A lease as matching makes it: a demand sized into G GPUs at a trade price, its share of g of them.
  const arbitraryLease = fc
    .record({
      output: fc.integer({ min: 1, max: 200_000 }),
      prompt: fc.integer({ min: 0, max: 800_000 }),
      sizedGpus: fc.integer({ min: 1, max: 64 }),
      share: fc.integer({ min: 1, max: 64 }),
      price: fc.bigInt(1n, 100_000_000n),
      // The offer's ask as a share of the trade price: equal when it rested first, else at most.
      askPermille: fc.oneof(fc.constant(1_000n), fc.bigInt(0n, 1_000n)),
      hours: fc.integer({ min: 1, max: 6 }),
      feeBps: fc.constantFrom(0, 1, 300, 5_000, 10_000),
      floor: fc.integer({ min: 0, max: 100 }),
      takeOrPay: fc.integer({ min: 0, max: 100 }),
      // An early end anywhere in the lease, to the millisecond, by either side; or none.
      endMs: fc.option(fc.integer({ min: 1, max: 6 * HOUR_MS - 1 }), { nil: undefined }),
      byProvider: fc.boolean(),
    })
    .map((f) => {
      const gpus = Math.min(f.share, f.sizedGpus);
      const hourly = tokensPerHour(f.output, f.prompt);
      const ended = f.endMs !== undefined && f.endMs < f.hours * HOUR_MS;
      return lease(
        {
          gpus,
          pricePerGpuHour: f.price,
          durationHours: f.hours,
          feeBps: f.feeBps,
          payPerUseMinPercent: f.floor,
          status: ended ? 'TERMINATED' : 'ENDED',
          terminationReason: ended ? (f.byProvider ? 'PROVIDER_REQUEST' : 'BUYER_REQUEST') : null,
          endAt: new Date(START.getTime() + (ended ? f.endMs! : f.hours * HOUR_MS)),
        },
        {
          pricePerMillionTokens: pricePerMillionTokensOf(f.price, hourly, f.sizedGpus),
          outputTokensPerSecond: throughputShare(f.output, gpus, f.sizedGpus),
          promptTokensPerSecond: throughputShare(f.prompt, gpus, f.sizedGpus),
          takeOrPayPercent: f.takeOrPay,
          providerAskPerGpuHour:
            (f.price * f.askPermille) / 1_000n > 0n ? (f.price * f.askPermille) / 1_000n : 1n,
        },
      );
    });
  const tokenCount = fc.oneof(fc.constant(0n), fc.bigInt(0n, 10_000_000_000n), fc.bigInt(0n, 2n ** 53n - 1n));

  it('balances every transfer, pays out at most the charge, charges at most the GPU-hours and the hold', () => {
    fc.assert(
      fc.property(
        arbitraryLease,
        fc.array(fc.option(fc.tuple(tokenCount, tokenCount), { nil: null }), { minLength: 6, maxLength: 6 }),
        (l, reports) => {
          let charged = 0n;
          for (const period of periodsOf(l)) {
            const report = reports[period.index] ?? null;
            const charge = chargeTokenPeriod(
              l,
              period,
              report === null ? null : counts(report[0], report[1]),
            );
            const { payout, spread } = charge.tokens;
            expect(payout).toBeLessThanOrEqual(charge.cost);
            // Paid at the offer's ask, never at the (higher) trade price.
            expect(payout).toBeLessThanOrEqual(
              costMinor(l.tokenBilling.providerAskPerGpuHour, charge.gpuSeconds),
            );
            expect(spread).toBe(charge.cost - payout);
            expect(spread).toBeGreaterThanOrEqual(0n);
            expect(charge.fee).toBeLessThanOrEqual(payout);
            expect(charge.cost).toBeLessThanOrEqual(
              costMinor(l.pricePerGpuHour, charge.tokens.reservedGpuSeconds),
            );
            expect(charge.tokens.billedTokens).toBeLessThanOrEqual(charge.tokens.capacityTokens);
            const transfer = tokenPeriodTransfer(l, charge);
            const entries = transfer?.entries ?? [];
            expect(entries.reduce((sum, e) => sum + e.amount, 0n)).toBe(0n);
            expect(entries.every((e) => e.amount !== 0n)).toBe(true);
            const moved = movements(transfer);
            expect(moved.get('buyer:BUYER_HELD') ?? 0n).toBe(-charge.cost);
            expect(moved.get('provider:PROVIDER_EARNINGS') ?? 0n).toBe(providerNet(charge));
            expect(moved.get('platform:PLATFORM_SPREAD') ?? 0n).toBe(spread);
            charged += charge.cost;
          }
          expect(charged).toBeLessThanOrEqual(leaseHold(l));
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('never pays the provider more than the buyer paid, over a whole lease reporting nothing', () => {
    fc.assert(
      fc.property(arbitraryLease, (l) => {
        let buyer = 0n;
        let provider = 0n;
        for (const period of periodsOf(l)) {
          const charge = chargeTokenPeriod(l, period, counts(0n, 0n));
          buyer += charge.cost;
          provider += providerNet(charge);
        }
        expect(provider).toBeLessThanOrEqual(buyer);
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('standingCounts', () => {
  const provider = { source: 'PROVIDER' as const, promptTokens: 10n, outputTokens: 1n };
  const buyer = { source: 'BUYER' as const, promptTokens: 5n, outputTokens: 1n };
  const admin = { source: 'ADMIN' as const, promptTokens: 7n, outputTokens: 1n };

  it('is the decision, else the provider’s report unless a dispute is open', () => {
    expect(standingCounts([provider, buyer], false)).toBe(provider);
    expect(standingCounts([provider, buyer], true)).toBeNull();
    expect(standingCounts([provider, buyer, admin], false)).toBe(admin);
    expect(standingCounts([buyer], false)).toBeNull();
  });
});
