/**
 * Model-based test of per-token money (pure, no database), in the style of money-model.spec.ts:
 * fast-check generates sequences of report / counts / advance / settle / resolve / end / payout /
 * decide commands over inference leases between two buyers and two providers (one of each pair
 * owned by the same party, who reports zero tokens: the colluding pair). A naive model written
 * from docs/INFERENCE.md "Per-token billing" and docs/USAGE.md keeps its own accounts by hand;
 * alongside, a ledger is kept only from the transfers the domain rules build (the usage rules
 * decide what is taken and what opens a dispute, token-settlement-rules what each period costs and
 * pays, ledger-rules the payouts). After every command: the two ledgers agree to the fen, every
 * transfer balances, no organisation account is negative, held is exactly what unsettled leases
 * still hold, every period is settled at most once and in order, none while its dispute is open,
 * no payout exceeds its period's charge (providers are paid at the offer's own ask, below the
 * trade price when the bid rested first), and buyers' debits equal providers' credits plus fees
 * plus PLATFORM_SPREAD: no fen created or lost. Coverage is asserted at the end.
 *
 *   TOKEN_MODEL_RUNS=5000 npx jest test/billing/token-money-model.spec.ts
 */
import fc from 'fast-check';
import { periodsOf } from '@/shared/periods';
import {
  payoutPaidTransfer,
  payoutRequestTransfer,
  payoutReturnTransfer,
  type TransferDraft,
} from '@/modules/billing/ledger/domain/ledger-rules';
import {
  finalReleaseTransfer,
  settlementMode,
  settlesAt,
  type SettlingLease,
} from '@/modules/billing/settlement/domain/settlement-rules';
import {
  chargeTokenPeriod,
  standingCounts,
  tokenPeriodTransfer,
  type StatedCounts,
  type TokenBillingTerms,
} from '@/modules/billing/settlement/domain/token-settlement-rules';
import {
  pricePerMillionTokensOf,
  throughputShare,
  tokensPerHour,
} from '@/modules/inference/domain/inference-pricing';
import { countsAgree, periodForCounts } from '@/modules/usage/domain/token-usage-rules';

const NUM_RUNS = Number(process.env.TOKEN_MODEL_RUNS ?? 1_000);
const ASSERT_COVERAGE = NUM_RUNS >= 1_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const GRACE_MS = 15 * MINUTE_MS;
const START = Date.parse('2026-12-05T00:00:00Z');
const CURRENCY = 'CNY';
const BUYERS = ['buyer-a', 'colluder-buyer'];
const PROVIDERS = ['provider-a', 'colluder-provider'];

type Side = 'PROVIDER' | 'BUYER';

interface ModelLease {
  lease: SettlingLease & { tokenBilling: TokenBillingTerms };
  /** Statements per period index, as usage stores them. */
  statements: Map<number, StatedCounts[]>;
  disputes: Map<number, 'OPEN' | 'RESOLVED'>;
  settled: Array<{ index: number; charge: bigint; payout: bigint; fee: bigint }>;
  released: boolean;
}

/** The naive model's own accounts, moved by hand from its own restatement of the rules. */
class TokenMoneyModel {
  readonly accounts = new Map<string, bigint>();
  buyerDebits = 0n;
  providerCredits = 0n;
  fees = 0n;
  spread = 0n;

  balance(key: string): bigint {
    return this.accounts.get(key) ?? 0n;
  }

  move(from: string, to: string, amount: bigint): void {
    if (amount < 0n) throw new Error(`model: negative move ${from} -> ${to}`);
    this.accounts.set(from, this.balance(from) - amount);
    this.accounts.set(to, this.balance(to) + amount);
  }

  /** docs/INFERENCE.md "Per-token billing", restated in the plainest terms. */
  period(
    lease: ModelLease['lease'],
    start: number,
    end: number,
    tokens: bigint,
  ): { charge: bigint; payout: bigint; fee: bigint } {
    const seconds = BigInt(Math.floor((end - start) / 1000));
    const t = lease.tokenBilling;
    const capacity = BigInt(t.promptTokensPerSecond + t.outputTokensPerSecond) * seconds;
    const providerCut =
      lease.status === 'TERMINATED' && end === lease.endAt.getTime() && end - start < HOUR_MS;
    const minimum = providerCut ? 0n : (capacity * BigInt(t.takeOrPayPercent)) / 100n;
    const used = tokens < capacity ? tokens : capacity;
    const billed = used > minimum ? used : minimum;
    const charge = (billed * t.pricePerMillionTokens) / 1_000_000n;
    const reserved = (BigInt(lease.gpus) * BigInt(end - start)) / 1000n;
    const usedGpuSeconds = capacity === 0n ? 0n : (reserved * used) / capacity;
    const floor = providerCut ? 0n : (reserved * BigInt(lease.payPerUseMinPercent)) / 100n;
    const paid = usedGpuSeconds > floor ? usedGpuSeconds : floor;
    const atAsk = (t.providerAskPerGpuHour * paid) / 3600n;
    const payout = atAsk < charge ? atAsk : charge;
    return { charge, payout, fee: (payout * BigInt(lease.feeBps)) / 10_000n };
  }
}

/** Balances kept only from the domain's transfers, checked as the database's triggers would. */
class RuleLedger {
  readonly accounts = new Map<string, bigint>();
  readonly keys = new Set<string>();

  post(transfer: TransferDraft | null): void {
    if (transfer === null) return;
    if (this.keys.has(transfer.key)) throw new Error(`ledger: key ${transfer.key} posted twice`);
    this.keys.add(transfer.key);
    let sum = 0n;
    for (const entry of transfer.entries) {
      if (entry.amount === 0n) throw new Error(`ledger: zero entry in ${transfer.key}`);
      sum += entry.amount;
      const key = `${entry.account.organisationId ?? 'platform'}:${entry.account.kind}`;
      const next = (this.accounts.get(key) ?? 0n) + entry.amount;
      if (entry.account.organisationId !== null && next < 0n) {
        throw new Error(`ledger: ${key} would go to ${next} (${transfer.key})`);
      }
      this.accounts.set(key, next);
    }
    if (sum !== 0n) throw new Error(`ledger: ${transfer.key} sums to ${sum}`);
  }
}

const arbitraryLease = fc.record({
  buyer: fc.nat(1),
  output: fc.integer({ min: 1, max: 5_000 }),
  prompt: fc.integer({ min: 0, max: 20_000 }),
  sizedGpus: fc.integer({ min: 1, max: 16 }),
  share: fc.integer({ min: 1, max: 16 }),
  price: fc.bigInt(100n, 500_000n),
  // The offer's ask: the trade price when the offer rested first, else below it (the bid's
  // maximum was the trade price, docs/MATCHING.md "Priority and trade price").
  askBelow: fc.oneof(fc.constant(0n), fc.bigInt(1n, 99n)),
  hours: fc.integer({ min: 1, max: 4 }),
  feeBps: fc.constantFrom(0, 250, 300, 10_000),
  floor: fc.integer({ min: 0, max: 100 }),
  takeOrPay: fc.constantFrom(0, 25, 50, 100),
});

const tokens = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0n) },
  { weight: 5, arbitrary: fc.bigInt(0n, 200_000_000n) },
  { weight: 1, arbitrary: fc.bigInt(0n, 2n ** 53n - 1n) },
);

const command = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('report' as const),
      pick: fc.nat(),
      side: fc.constantFrom<Side>('PROVIDER', 'BUYER'),
      period: fc.oneof(fc.constant(-1), fc.nat(4)),
      prompt: tokens,
      output: tokens,
      // The buyer's counts: the provider's (agree), near them (within tolerance), or its own.
      echo: fc.constantFrom('same', 'near', 'own', 'own'),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      // 0: to a minute past the next period end (inside the report grace, when counts come in).
      minutes: fc.oneof(
        { weight: 3, arbitrary: fc.constant(0) },
        { weight: 2, arbitrary: fc.integer({ min: 1, max: 10 }) },
        { weight: 1, arbitrary: fc.integer({ min: 10, max: 90 }) },
      ),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('settle' as const) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('resolve' as const),
      pick: fc.nat(),
      prompt: tokens,
      output: tokens,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('end' as const), pick: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('payout' as const),
      provider: fc.nat(1),
      permille: fc.integer({ min: 1, max: 1_100 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('decide' as const), pick: fc.nat(), confirm: fc.boolean() }),
  },
);

const seen = new Set<string>();

describe('per-token money, model-based (docs/INFERENCE.md "Per-token billing")', () => {
  it('agrees with a naive model and keeps every ledger invariant through periods, disputes and payouts', () => {
    fc.assert(
      fc.property(
        fc.array(arbitraryLease, { minLength: 2, maxLength: 4 }),
        fc.array(command, { minLength: 20, maxLength: 100, size: 'max' }),
        (specs, commands) => {
          let now = START;
          const model = new TokenMoneyModel();
          const ledger = new RuleLedger();
          const leases: ModelLease[] = specs.map((spec, i) => {
            const gpus = Math.min(spec.share, spec.sizedGpus);
            const hourly = tokensPerHour(spec.output, spec.prompt);
            // Even leases belong to the colluding pair (one owner on both sides).
            const buyer = BUYERS[i % 2]!;
            const provider = PROVIDERS[i % 2]!;
            return {
              lease: {
                id: `lease-${i}`,
                buyerOrganisationId: buyer,
                providerOrganisationId: provider,
                currency: CURRENCY,
                gpus,
                pricePerGpuHour: spec.price,
                durationHours: spec.hours,
                billingMode: 'RESERVED',
                feeBps: spec.feeBps,
                payPerUseMinPercent: spec.floor,
                periodSeconds: 3_600,
                status: 'ACTIVE',
                terminationReason: null,
                startedAt: new Date(START),
                endAt: new Date(START + spec.hours * HOUR_MS),
                tokenBilling: {
                  pricePerMillionTokens: pricePerMillionTokensOf(spec.price, hourly, spec.sizedGpus),
                  promptTokensPerSecond: throughputShare(spec.prompt, gpus, spec.sizedGpus),
                  outputTokensPerSecond: throughputShare(spec.output, gpus, spec.sizedGpus),
                  takeOrPayPercent: spec.takeOrPay,
                  providerAskPerGpuHour: spec.price - spec.askBelow,
                },
              },
              statements: new Map(),
              disputes: new Map(),
              settled: [],
              released: false,
            };
          });
          // Each lease's hold was taken at match: funding -> held, in both ledgers alike.
          for (const { lease } of leases) {
            const hold = lease.pricePerGpuHour * BigInt(lease.gpus) * BigInt(lease.durationHours);
            model.move('platform:EXTERNAL_FUNDING', `${lease.buyerOrganisationId}:BUYER_HELD`, hold);
            ledger.post({
              key: `lease-hold:${lease.id}`,
              kind: 'LEASE_HOLD',
              currency: CURRENCY,
              organisationId: lease.buyerOrganisationId,
              entries: [
                { account: { organisationId: null, kind: 'EXTERNAL_FUNDING' }, amount: -hold },
                { account: { organisationId: lease.buyerOrganisationId, kind: 'BUYER_HELD' }, amount: hold },
              ],
            });
          }
          const payouts: Array<{
            id: string;
            org: string;
            amount: bigint;
            status: 'PENDING' | 'PAID' | 'REJECTED';
          }> = [];

          const closed = (m: ModelLease) => m.lease.status !== 'ACTIVE' || m.lease.endAt.getTime() <= now;
          // Plain comparisons (not expect) keep 1,000 runs of up to 100 commands fast.
          const check = (): void => {
            const fail = (what: string): never => {
              throw new Error(`invariant: ${what}`);
            };
            const keys = new Set([...model.accounts.keys(), ...ledger.accounts.keys()]);
            let total = 0n;
            for (const key of keys) {
              const kept = ledger.accounts.get(key) ?? 0n;
              if (kept !== model.balance(key)) fail(`${key}: rules ${kept}, model ${model.balance(key)}`);
              total += kept;
              if (!key.startsWith('platform:') && kept < 0n) fail(`${key} is ${kept}`);
            }
            if (total !== 0n) fail(`accounts sum to ${total}`);
            for (const buyer of BUYERS) {
              let held = 0n;
              for (const m of leases) {
                if (m.lease.buyerOrganisationId !== buyer || m.released) continue;
                held += m.lease.pricePerGpuHour * BigInt(m.lease.gpus) * BigInt(m.lease.durationHours);
                held -= m.settled.reduce((sum, p) => sum + p.charge, 0n);
              }
              if (model.balance(`${buyer}:BUYER_HELD`) !== held) fail(`${buyer} held, expected ${held}`);
            }
            for (const m of leases) {
              m.settled.forEach((p, i) => {
                if (p.index !== i) fail(`${m.lease.id} settled period ${p.index} at position ${i}`);
                if (p.payout > p.charge)
                  fail(`${m.lease.id} period ${p.index} paid ${p.payout} > ${p.charge}`);
              });
            }
            if (model.balance('platform:PLATFORM_SPREAD') !== model.spread || model.spread < 0n) {
              fail(`spread ${model.spread}`);
            }
            if (model.buyerDebits !== model.providerCredits + model.fees + model.spread) {
              fail('buyer debits <> provider credits + fees + spread');
            }
          };

          for (const cmd of commands) {
            seen.add(cmd.kind);
            switch (cmd.kind) {
              case 'report': {
                const m = leases[cmd.pick % leases.length]!;
                const periods = periodsOf(m.lease);
                const ended = periods.filter((p) => p.endsAt.getTime() <= now);
                const period = cmd.period === -1 ? ended.at(-1) : periods[cmd.period];
                if (period === undefined) break;
                const source = cmd.side;
                // The colluding pair (even leases) reports nothing used, on both sides alike.
                const colluding = (cmd.pick % leases.length) % 2 === 0;
                let counts = colluding
                  ? { promptTokens: 0n, outputTokens: 0n }
                  : { promptTokens: cmd.prompt, outputTokens: cmd.output };
                const other = m.statements
                  .get(period.index)
                  ?.find((s) => s.source !== source && s.source !== 'ADMIN');
                if (other !== undefined && cmd.echo !== 'own' && !colluding) {
                  counts =
                    cmd.echo === 'same'
                      ? { promptTokens: other.promptTokens, outputTokens: other.outputTokens }
                      : { promptTokens: other.promptTokens + 500n, outputTokens: other.outputTokens };
                }
                const mine = m.statements.get(period.index)?.find((s) => s.source === source);
                if (mine !== undefined) break; // final: the service answers the stored one or 409
                try {
                  periodForCounts(
                    {
                      status: m.lease.status,
                      gpus: m.lease.gpus,
                      periodSeconds: 3_600,
                      startedAt: m.lease.startedAt,
                      endAt: m.lease.endAt,
                    },
                    period.startsAt,
                    new Date(now),
                    GRACE_MS,
                  );
                } catch {
                  seen.add('report-refused');
                  break;
                }
                const latest = Math.max(
                  -1,
                  ...[...m.statements.entries()]
                    .filter(([, list]) => list.some((s) => s.source === source))
                    .map(([index]) => index),
                );
                if (latest > period.index) break;
                // The grace closes before settlement may start: a period taking counts is unsettled.
                if (m.settled.length > period.index)
                  throw new Error(`${m.lease.id}: counts for a settled period`);
                const list = m.statements.get(period.index) ?? [];
                list.push({ source, ...counts });
                m.statements.set(period.index, list);
                if (other !== undefined) {
                  const [p, b] = source === 'PROVIDER' ? [counts, other] : [other, counts];
                  if (!countsAgree(p, b)) {
                    m.disputes.set(period.index, 'OPEN');
                    seen.add('dispute');
                  }
                }
                break;
              }
              case 'advance':
                if (cmd.minutes === 0) {
                  now = (Math.floor((now - START) / HOUR_MS) + 1) * HOUR_MS + START + MINUTE_MS;
                } else {
                  now += cmd.minutes * MINUTE_MS;
                }
                break;
              case 'end': {
                const m = leases[cmd.pick % leases.length]!;
                if (m.lease.status !== 'ACTIVE' || now >= m.lease.endAt.getTime() || now <= START) break;
                // The provider's end at its notice, given an hour ago: the period it cuts waives both minimums.
                m.lease = {
                  ...m.lease,
                  status: 'TERMINATED',
                  terminationReason: 'PROVIDER_NOTICE',
                  endAt: new Date(now),
                };
                seen.add('end');
                break;
              }
              case 'settle':
                for (const m of leases) {
                  if (m.released) continue;
                  const lease =
                    closed(m) && m.lease.status === 'ACTIVE'
                      ? { ...m.lease, status: 'ENDED' as const }
                      : m.lease;
                  const periods = periodsOf(lease);
                  for (const period of periods.slice(m.settled.length)) {
                    if (settlesAt(period, settlementMode(lease), GRACE_MS).getTime() > now) break;
                    if (m.disputes.get(period.index) === 'OPEN') {
                      seen.add('held-by-dispute');
                      break;
                    }
                    const stood = standingCounts(m.statements.get(period.index) ?? [], false);
                    const charge = chargeTokenPeriod(lease, period, stood);
                    ledger.post(tokenPeriodTransfer(lease, charge));
                    const naive = model.period(
                      lease,
                      period.startsAt.getTime(),
                      period.endsAt.getTime(),
                      stood === null ? 0n : stood.promptTokens + stood.outputTokens,
                    );
                    if (
                      charge.cost !== naive.charge ||
                      charge.tokens.payout !== naive.payout ||
                      charge.fee !== naive.fee
                    ) {
                      throw new Error(`${lease.id} period ${period.index}: rules and model disagree`);
                    }
                    const buyer = `${lease.buyerOrganisationId}:BUYER_HELD`;
                    model.move(
                      buyer,
                      `${lease.providerOrganisationId}:PROVIDER_EARNINGS`,
                      naive.payout - naive.fee,
                    );
                    model.move(buyer, 'platform:PLATFORM_FEES', naive.fee);
                    model.move(buyer, 'platform:PLATFORM_SPREAD', naive.charge - naive.payout);
                    model.buyerDebits += naive.charge;
                    model.providerCredits += naive.payout - naive.fee;
                    model.fees += naive.fee;
                    model.spread += naive.charge - naive.payout;
                    m.settled.push({ index: period.index, ...naive });
                    seen.add(`basis:${charge.basis}`);
                    seen.add(`payout:${charge.tokens.payoutBasis}`);
                    // The bid rested first: paid at the offer's lower ask, the gap to the spread.
                    if (
                      lease.tokenBilling.providerAskPerGpuHour < lease.pricePerGpuHour &&
                      charge.tokens.payoutBasis !== 'CAPPED' &&
                      naive.payout > 0n
                    ) {
                      seen.add('paid-at-ask-below-trade-price');
                    }
                    if (
                      stood !== null &&
                      stood.promptTokens + stood.outputTokens === 0n &&
                      naive.charge > 0n
                    ) {
                      // The colluding pair's zero report: the provider nets less than the buyer paid.
                      if (naive.payout - naive.fee > naive.charge) throw new Error('a free payout');
                      seen.add('zero-report-charged');
                    }
                    if (stood?.source === 'ADMIN') seen.add('settled-after-decision');
                  }
                  if (closed(m) && m.settled.length === periods.length) {
                    const paid = m.settled.reduce((sum, p) => sum + p.charge, 0n);
                    ledger.post(finalReleaseTransfer(lease, paid));
                    const hold = lease.pricePerGpuHour * BigInt(lease.gpus) * BigInt(lease.durationHours);
                    model.move(
                      `${lease.buyerOrganisationId}:BUYER_HELD`,
                      `${lease.buyerOrganisationId}:BUYER_AVAILABLE`,
                      hold - paid,
                    );
                    m.released = true;
                    seen.add('released');
                  }
                }
                break;
              case 'resolve': {
                const open = leases.flatMap((m) =>
                  [...m.disputes.entries()].filter(([, s]) => s === 'OPEN').map(([index]) => ({ m, index })),
                );
                const target = open[cmd.pick % Math.max(1, open.length)];
                if (target === undefined) break;
                target.m.disputes.set(target.index, 'RESOLVED');
                target.m.statements.get(target.index)!.push({
                  source: 'ADMIN',
                  promptTokens: cmd.prompt,
                  outputTokens: cmd.output,
                });
                seen.add('resolved');
                break;
              }
              case 'payout': {
                const org = PROVIDERS[cmd.provider]!;
                const earnings = model.balance(`${org}:PROVIDER_EARNINGS`);
                const amount = (earnings * BigInt(cmd.permille)) / 1_000n;
                if (amount <= 0n || amount > earnings) break;
                const payout = { id: `payout-${payouts.length}`, org, amount, status: 'PENDING' as const };
                payouts.push(payout);
                ledger.post(
                  payoutRequestTransfer({
                    payoutId: payout.id,
                    organisationId: org,
                    source: 'PROVIDER_EARNINGS',
                    amount,
                    currency: CURRENCY,
                  }),
                );
                model.move(`${org}:PROVIDER_EARNINGS`, 'platform:PAYOUT_CLEARING', amount);
                seen.add('payout');
                break;
              }
              case 'decide': {
                const pending = payouts.filter((p) => p.status === 'PENDING');
                const payout = pending[cmd.pick % Math.max(1, pending.length)];
                if (payout === undefined) break;
                const money = {
                  payoutId: payout.id,
                  organisationId: payout.org,
                  source: 'PROVIDER_EARNINGS' as const,
                  amount: payout.amount,
                  currency: CURRENCY,
                };
                if (cmd.confirm) {
                  ledger.post(payoutPaidTransfer(money));
                  model.move('platform:PAYOUT_CLEARING', 'platform:EXTERNAL_FUNDING', payout.amount);
                  payout.status = 'PAID';
                } else {
                  ledger.post(payoutReturnTransfer(money));
                  model.move('platform:PAYOUT_CLEARING', `${payout.org}:PROVIDER_EARNINGS`, payout.amount);
                  payout.status = 'REJECTED';
                }
                seen.add('decided');
                break;
              }
            }
            check();
          }
        },
      ),
      { numRuns: NUM_RUNS },
    );
    if (ASSERT_COVERAGE) {
      expect(
        [
          'advance',
          'basis:TAKE_OR_PAY',
          'basis:TOKENS',
          'decide',
          'decided',
          'dispute',
          'end',
          'held-by-dispute',
          'payout',
          'payout:CAPPED',
          'payout:FLOOR',
          'payout:USED',
          'paid-at-ask-below-trade-price',
          'released',
          'report',
          'report-refused',
          'resolve',
          'resolved',
          'settle',
          'settled-after-decision',
          'zero-report-charged',
        ].filter((kind) => !seen.has(kind)),
      ).toEqual([]);
    }
  });
});
