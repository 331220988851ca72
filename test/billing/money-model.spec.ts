/**
 * Model-based test of the money rules (pure, no database). fast-check generates sequences of
 * top-up / place / cancel / fill (some leases under an SLO) / provision / usage / SLO evidence /
 * advance / settle (with SLO credits) / terminate (a provider at its notice or now for a
 * penalty) / payout / decide / extend (the buyer adds hours at the trade price) / reclaim (the
 * provider takes back a lease sold on idle windows, at the reclaim notice, no penalty)
 * commands for two buyers and two providers; the naive model (money-model.ts) runs them and its
 * invariants are checked after every command. Alongside, a second ledger is kept only from the
 * transfers the domain rules build (ledger-rules, settlement-rules, lease-rules, usage-rules,
 * slo-rules):
 * after every command its balances must equal the model's, and each rule's decision (refusal,
 * termination outcome, period charges, report accepted) must be the model's. Coverage is
 * asserted at the end.
 *
 *   MONEY_MODEL_RUNS=20000 npx jest test/billing/money-model.spec.ts   # more runs locally
 *   MONEY_MODEL_SEED=123 MONEY_MODEL_PATH="4:2" npx jest test/billing/money-model.spec.ts
 *
 * Budget: 4,000 sequences (median length ~58 commands) in ~10 s on the 2-core machine.
 */
import fc from 'fast-check';
import {
  bidHoldAmount,
  bidHoldTransfer,
  bidReleaseTransfer,
  leaseExtensionTransfer,
  leaseHoldTransfer,
  leaseRefundTransfer,
  payoutPaidTransfer,
  payoutRequestTransfer,
  payoutReturnTransfer,
  penaltyTransfer,
  recoveryTransfer,
  sloCreditTransfer,
  topUpTransfer,
  type PayoutMoney,
  type TransferDraft,
} from '@/modules/billing/ledger/domain/ledger-rules';
import {
  chargePeriod,
  finalReleaseTransfer,
  periodTransfer,
  type SettlingLease,
} from '@/modules/billing/settlement/domain/settlement-rules';
import { earlyEndPenalty, terminationOutcome } from '@/modules/leases/domain/lease-rules';
import { extensionTerms } from '@/modules/leases/domain/extension-rules';
import { DomainError } from '@/shared/domain-error';
import { periodsOf } from '@/shared/periods';
import { periodForReport } from '@/modules/leases/domain/usage-rules';
import { decidePeriod, sloCredit, type Slo, type SloMeasures } from '@/modules/slo/domain/slo-rules';
import { COMMAND_KINDS, GRACE_MS, MINUTE_MS, MoneyModel, NOTICE_HOURS, type ModelLease } from './money-model';

// 4,000, not 2,000: the rarest floored case (recoveries, ~2%) then varies by ~0.2 points, not ~0.3.
const NUM_RUNS = Number(process.env.MONEY_MODEL_RUNS ?? 4_000);
const REPLAY_SEED = process.env.MONEY_MODEL_SEED;
const REPLAY_PATH = process.env.MONEY_MODEL_PATH;
/** Coverage is asserted only for a full, fresh run (not when replaying one counterexample). */
const ASSERT_COVERAGE = REPLAY_SEED === undefined && NUM_RUNS >= 1_000;
const MAX_COMMANDS = 120;
const START = Date.parse('2026-12-01T00:00:00Z');
const BUYERS = ['buyer-a', 'buyer-b'];
const PROVIDERS = ['provider-a', 'provider-b'];
const CURRENCY = 'CNY';
/** 2^53 + 1 fen: a top-up a double could not hold. */
const BEYOND_DOUBLE = 2n ** 53n + 1n;

const command = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('topUp' as const),
      buyer: fc.nat(1),
      // Mostly modest amounts (up to 200,000.00); now and then one beyond 2^53 fen, which must stay exact.
      amount: fc.oneof(
        { weight: 9, arbitrary: fc.bigInt(1n, 20_000_000n) },
        { weight: 1, arbitrary: fc.bigInt(BEYOND_DOUBLE, BEYOND_DOUBLE + 1_000n) },
      ),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('place' as const),
      buyer: fc.nat(1),
      cap: fc.bigInt(1n, 300_000n),
      gpus: fc.integer({ min: 1, max: 8 }),
      hours: fc.integer({ min: 1, max: 6 }),
      mode: fc.constantFrom('RESERVED' as const, 'PAY_PER_USE' as const),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat() }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('fill' as const),
      pick: fc.nat(),
      provider: fc.nat(1),
      gpus: fc.integer({ min: 1, max: 8 }),
      discountPercent: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 99 })),
      feeBps: fc.constantFrom(0, 1, 250, 300, 5_000),
      minPercent: fc.integer({ min: 0, max: 100 }),
      // A quarter of the leases carry an SLO (docs/SLO.md): availability and the credit share.
      slo: fc.oneof(
        { weight: 3, arbitrary: fc.constant(undefined) },
        {
          weight: 1,
          arbitrary: fc.record({
            availabilityBps: fc.constantFrom(9_000, 9_950, 9_999),
            creditPercent: fc.constantFrom(1, 10, 25, 100),
          }),
        },
      ),
      // A third are an interruptible bid's lease on idle windows: reclaimable at this notice.
      reclaimNoticeMinutes: fc.oneof(
        { weight: 2, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.constantFrom(30, 90) },
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('evidence' as const),
      pick: fc.nat(),
      // BOTH: the provider reports the period fully up and the buyer states availabilityBps.
      side: fc.constantFrom('PROVIDER' as const, 'BUYER' as const, 'BOTH' as const),
      // -1: the period that ended last; else any index.
      period: fc.oneof({ weight: 4, arbitrary: fc.constant(-1) }, { weight: 1, arbitrary: fc.nat(6) }),
      availabilityBps: fc.oneof(fc.constant(10_000), fc.integer({ min: 8_500, max: 10_000 })),
    }),
  },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('provision' as const), pick: fc.nat() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('usage' as const),
      pick: fc.nat(),
      // -1: the period that ended last (what a metering agent reports); else any index.
      period: fc.oneof(fc.constant(-1), fc.nat(6)),
      // Up to 110% of the period's reserved GPU-seconds: above 100% is refused.
      permille: fc.integer({ min: 0, max: 1_100 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('advance' as const),
      // 0: to a few minutes past the next period end of a running lease (inside the report grace).
      minutes: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 20, max: 150 })),
      past: fc.integer({ min: 1, max: 14 }),
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('settle' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('terminate' as const),
      pick: fc.nat(),
      side: fc.constantFrom('BUYER' as const, 'PROVIDER' as const),
      // A provider's way to end an ACTIVE lease (ignored for the buyer and before access).
      mode: fc.constantFrom('NOTICE' as const, 'IMMEDIATE' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('payout' as const),
      org: fc.nat(3),
      // A share of the balance in percent; above 100 is refused (402).
      percent: fc.integer({ min: 1, max: 120 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('decide' as const), pick: fc.nat(), confirm: fc.boolean() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('extend' as const),
      pick: fc.nat(),
      hours: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 720 })),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('reclaim' as const), pick: fc.nat() }) },
);
export type MoneyCommand = typeof command extends fc.Arbitrary<infer C> ? C : never;
// size 'max': lengths uniform in 0..MAX_COMMANDS (median ~60), no minimum so a failure shrinks.
const commandsArb = fc.array(command, { maxLength: MAX_COMMANDS, size: 'max' });
// The database spec (test/e2e/money-model.e2e.spec.ts) runs the shared kinds and SLO evidence too.
const KINDS = [...COMMAND_KINDS, 'evidence', 'reclaim'] as const satisfies ReadonlyArray<
  MoneyCommand['kind']
>;

/** The ledger as the domain rules build it: each transfer's entries applied to its accounts. */
class RulesLedger {
  readonly balances = new Map<string, bigint>();
  apply(transfer: TransferDraft | null): void {
    if (transfer === null) return;
    for (const entry of transfer.entries) {
      const key = `${entry.account.organisationId ?? 'platform'}:${entry.account.kind}`;
      this.balances.set(key, (this.balances.get(key) ?? 0n) + entry.amount);
    }
  }
}

const settling = (lease: ModelLease): SettlingLease => ({
  id: lease.id,
  buyerOrganisationId: lease.buyer,
  providerOrganisationId: lease.provider,
  currency: CURRENCY,
  gpus: lease.gpus,
  pricePerGpuHour: lease.price,
  durationHours: lease.hours,
  billingMode: lease.mode,
  feeBps: lease.feeBps,
  payPerUseMinPercent: lease.minPercent,
  periodSeconds: 3_600,
  status: lease.status === 'SCHEDULED' ? 'ACTIVE' : lease.status,
  terminationReason: lease.reason,
  startedAt: new Date(lease.startedAt!),
  endAt: new Date(lease.endAt!),
});

const show = (value: unknown): string =>
  JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

/** Compares cheaply; on a difference fails with the command that caused it. */
function agree(where: () => string, actual: unknown, expected: unknown): void {
  if (show(actual) !== show(expected))
    expect({ where: where(), actual }).toEqual({ where: where(), actual: expected });
}

const pickOf = <T>(items: readonly T[], pick: number): T | undefined =>
  items.length === 0 ? undefined : items[pick % items.length];

const coverage = {
  sequences: 0,
  lengths: [] as number[],
  kinds: Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<(typeof KINDS)[number], number>,
  with: {
    fills: 0,
    fillsBelowCap: 0,
    settledPeriods: 0,
    reportedPeriods: 0,
    minimumPeriods: 0,
    finalReleases: 0,
    buyerShortened: 0,
    providerCut: 0,
    providerNotice: 0,
    penalties: 0,
    receivables: 0,
    recoveries: 0,
    terminatedBeforeAccess: 0,
    provisioningFailures: 0,
    payouts: 0,
    payoutsPaid: 0,
    payoutsRejected: 0,
    insufficientFunds: 0,
    payoutRefused: 0,
    reportRefused: 0,
    beyondDouble: 0,
    extensions: 0,
    extendedThenSettled: 0,
    extensionRefused: 0,
    sloPeriods: 0,
    sloCredits: 0,
    sloSilent: 0,
    sloBuyerOnly: 0,
    sloCreditCapped: 0,
    reclaims: 0,
    reclaimedThenSettled: 0,
    reclaimRefused: 0,
  },
};
type Flag = keyof typeof coverage.with;

function runSequence(commands: readonly MoneyCommand[]): void {
  const model = new MoneyModel(START);
  const rules = new RulesLedger();
  const flags = new Set<Flag>();
  let seq = 0;
  const id = (prefix: string) => `${prefix}-${(seq += 1)}`;
  const orgs = [...BUYERS, ...PROVIDERS];

  for (const [step, cmd] of commands.entries()) {
    coverage.kinds[cmd.kind] += 1;
    const where = () => `command ${step} ${show(cmd)}`;
    switch (cmd.kind) {
      case 'topUp': {
        const buyer = BUYERS[cmd.buyer]!;
        model.topUp(buyer, cmd.amount);
        rules.apply(
          topUpTransfer({ topUpId: id('t'), organisationId: buyer, amount: cmd.amount, currency: CURRENCY }),
        );
        if (cmd.amount >= BEYOND_DOUBLE) flags.add('beyondDouble');
        break;
      }
      case 'place': {
        const buyer = BUYERS[cmd.buyer]!;
        const bidId = id('bid');
        const hold = bidHoldAmount(cmd.cap, cmd.gpus, cmd.hours);
        const covered = model.balance(buyer, 'BUYER_AVAILABLE') >= hold;
        const outcome = model.placeBid({
          id: bidId,
          buyer,
          cap: cmd.cap,
          gpus: cmd.gpus,
          hours: cmd.hours,
          mode: cmd.mode,
        });
        agree(where, outcome, covered ? 'ok' : 'refused');
        if (outcome === 'ok') {
          rules.apply(bidHoldTransfer({ bidId, organisationId: buyer, amount: hold, currency: CURRENCY }));
        } else flags.add('insufficientFunds');
        break;
      }
      case 'cancel': {
        const bid = pickOf([...model.bids.values()], cmd.pick);
        if (bid === undefined) break;
        const unfilled = bid.gpus - bid.filled;
        const wasOpen = bid.open;
        agree(where, model.cancelBid(bid.id), wasOpen ? 'ok' : 'refused');
        if (wasOpen) {
          rules.apply(
            bidReleaseTransfer({
              bidId: bid.id,
              organisationId: bid.buyer,
              currency: CURRENCY,
              maxPricePerGpuHour: bid.cap,
              unfilledGpus: unfilled,
              durationHours: bid.hours,
              reason: 'cancelled',
            }),
          );
        }
        break;
      }
      case 'fill': {
        const bid = pickOf(model.openBids(), cmd.pick);
        if (bid === undefined) break;
        const gpus = Math.min(cmd.gpus, bid.gpus - bid.filled);
        const price = bid.cap - (bid.cap * BigInt(cmd.discountPercent)) / 100n;
        const leaseId = id('lease');
        const provider = PROVIDERS[cmd.provider]!;
        model.fill({
          id: leaseId,
          bidId: bid.id,
          provider,
          gpus,
          price,
          feeBps: cmd.feeBps,
          minPercent: cmd.minPercent,
          slo: cmd.slo ?? null,
          reclaimNoticeMinutes: cmd.reclaimNoticeMinutes,
        });
        rules.apply(
          leaseHoldTransfer({
            leaseId,
            bidId: bid.id,
            organisationId: bid.buyer,
            currency: CURRENCY,
            gpus,
            durationHours: bid.hours,
            bidMaxPricePerGpuHour: bid.cap,
            tradePricePerGpuHour: price,
          }),
        );
        flags.add('fills');
        if (price < bid.cap) flags.add('fillsBelowCap');
        break;
      }
      case 'provision': {
        // Mostly a lease waiting for access (as a provider would), sometimes any (refused).
        const waiting = [...model.leases.values()].filter(
          (l) => l.status === 'SCHEDULED' || cmd.pick % 5 === 0,
        );
        const lease = pickOf(waiting, cmd.pick);
        if (lease !== undefined) model.provision(lease.id);
        break;
      }
      case 'usage': {
        const perUse = [...model.leases.values()].filter(
          (l) => l.mode === 'PAY_PER_USE' || cmd.pick % 5 === 0,
        );
        const lease = pickOf(perUse, cmd.pick);
        if (lease === undefined) break;
        const ended = model.periodsOf(lease).filter((p) => p.end <= model.now);
        const index = cmd.period === -1 ? Math.max(ended.length - 1, 0) : cmd.period;
        const period = model.periodsOf(lease)[index];
        const reserved =
          period === undefined ? 0n : (BigInt(lease.gpus) * BigInt(period.end - period.start)) / 1000n;
        const gpuSeconds = (reserved * BigInt(cmd.permille)) / 1000n;
        const duplicate = lease.reports.has(index);
        const outcome = model.report(lease.id, index, gpuSeconds);
        if (outcome === 'ok') flags.add('reportedPeriods');
        else flags.add('reportRefused');
        // The rule for one report (the service refuses a second report of a period before it).
        if (period !== undefined && !duplicate && lease.startedAt !== null) {
          let accepted: boolean;
          try {
            periodForReport(
              {
                status: lease.status,
                billingMode: lease.mode,
                gpus: lease.gpus,
                periodSeconds: 3_600,
                startedAt: new Date(lease.startedAt),
                endAt: new Date(lease.endAt!),
                settledPeriods: lease.settled.length,
              },
              { periodStart: new Date(period.start), gpuSeconds },
              new Date(model.now),
              GRACE_MS,
            );
            accepted = true;
          } catch {
            accepted = false;
          }
          agree(where, accepted, outcome === 'ok');
        }
        break;
      }
      case 'evidence': {
        // Mostly a started lease under an SLO (as a side would report), sometimes any (refused).
        const withSlo = [...model.leases.values()].filter(
          (l) => (l.slo !== null && l.startedAt !== null) || cmd.pick % 7 === 0,
        );
        const lease = pickOf(withSlo, cmd.pick);
        if (lease === undefined) break;
        const ended = model.periodsOf(lease).filter((p) => p.end <= model.now);
        const index = cmd.period === -1 ? Math.max(ended.length - 1, 0) : cmd.period;
        if (cmd.side === 'BOTH') {
          model.evidence(lease.id, index, 'PROVIDER', 10_000);
          model.evidence(lease.id, index, 'BUYER', cmd.availabilityBps);
        } else model.evidence(lease.id, index, cmd.side, cmd.availabilityBps);
        break;
      }
      case 'advance': {
        const before = new Map([...model.leases.values()].map((l) => [l.id, l.status]));
        const nextEnd = Math.min(
          ...[...model.leases.values()]
            .filter((l) => l.status === 'ACTIVE')
            .flatMap((l) => model.periodsOf(l).map((p) => p.end))
            .filter((end) => end > model.now),
        );
        const step =
          cmd.minutes > 0 || !Number.isFinite(nextEnd)
            ? cmd.minutes * MINUTE_MS
            : nextEnd - model.now + cmd.past * MINUTE_MS;
        model.advance(Math.max(step, MINUTE_MS));
        for (const lease of model.leases.values()) {
          if (before.get(lease.id) === 'SCHEDULED' && lease.reason === 'PROVIDER_FAILURE') {
            flags.add('provisioningFailures');
            rules.apply(refundOf(lease, 'no access by the provisioning deadline'));
          }
        }
        break;
      }
      case 'settle': {
        const before = new Map(
          [...model.leases.values()].map((l) => [l.id, [l.settled.length, l.released] as const]),
        );
        model.settleDue();
        for (const lease of model.leases.values()) {
          const [settledBefore, releasedBefore] = before.get(lease.id)!;
          if (lease.startedAt === null) continue;
          const domainLease = settling(lease);
          const periods = periodsOf(domainLease);
          agree(
            where,
            periods.map((p) => [p.startsAt.getTime(), p.endsAt.getTime()]),
            model.periodsOf(lease).map((p) => [p.start, p.end]),
          );
          for (const settled of lease.settled.slice(settledBefore)) {
            const period = periods[settled.index]!;
            const charge = chargePeriod(domainLease, period, lease.reports.get(settled.index) ?? null);
            agree(
              where,
              [lease.id, charge.index, charge.gpuSeconds, charge.cost, charge.fee],
              [lease.id, settled.index, settled.gpuSeconds, settled.cost, settled.fee],
            );
            rules.apply(periodTransfer(domainLease, charge));
            flags.add('settledPeriods');
            if (charge.basis === 'MINIMUM') flags.add('minimumPeriods');
            if (lease.slo !== null) {
              // The SLO step's rules (decidePeriod, sloCredit) against the model's restatement.
              const slo: Slo = {
                availabilityBps: lease.slo.availabilityBps,
                creditPercent: lease.slo.creditPercent,
              };
              const measures = (side: 'PROVIDER' | 'BUYER'): SloMeasures | null => {
                const bps = lease.evidence.get(`${charge.index}:${side}`);
                return bps === undefined
                  ? null
                  : { availabilityBps: bps, ttftP95Ms: null, outputTokensPerSecondPerGpu: null };
              };
              const outcome = decidePeriod(slo, measures('PROVIDER'), measures('BUYER'), null);
              const credit =
                outcome.outcome === 'MISSED'
                  ? sloCredit(charge.cost, charge.cost - charge.fee, slo.creditPercent)
                  : 0n;
              agree(
                where,
                [lease.id, charge.index, credit],
                [lease.id, charge.index, lease.credits.get(charge.index)],
              );
              if (credit > 0n) {
                rules.apply(
                  sloCreditTransfer({
                    leaseId: lease.id,
                    periodIndex: charge.index,
                    buyerOrganisationId: lease.buyer,
                    providerOrganisationId: lease.provider,
                    currency: CURRENCY,
                    amount: credit,
                    memo: `SLO missed (${outcome.reason})`,
                  }),
                );
                flags.add('sloCredits');
                if (credit === charge.cost - charge.fee && credit > 0n) flags.add('sloCreditCapped');
              }
              flags.add('sloPeriods');
              if (outcome.reason === 'PROVIDER_SILENT') flags.add('sloSilent');
              if (outcome.reason === 'BUYER_REPORTED') flags.add('sloBuyerOnly');
            }
          }
          const last = lease.settled.slice(settledBefore).at(-1);
          const owedBefore = rules.balances.get(`${lease.provider}:PROVIDER_RECEIVABLE`) ?? 0n;
          if (last !== undefined && owedBefore < 0n) {
            rules.apply(
              recoveryTransfer({
                key: `recover:${lease.id}:${last.index}`,
                leaseId: lease.id,
                providerOrganisationId: lease.provider,
                currency: CURRENCY,
                receivable: owedBefore,
                earnings: rules.balances.get(`${lease.provider}:PROVIDER_EARNINGS`) ?? 0n,
              }),
            );
            flags.add('recoveries');
          }
          if (lease.released && !releasedBefore) {
            const paid = lease.settled.reduce((sum, p) => sum + p.cost, 0n);
            rules.apply(finalReleaseTransfer(domainLease, paid));
            flags.add('finalReleases');
          }
        }
        break;
      }
      case 'terminate': {
        const lease = pickOf([...model.leases.values()], cmd.pick);
        if (lease === undefined) break;
        const domain = terminationOutcome(
          {
            status: lease.status,
            startedAt: lease.startedAt === null ? null : new Date(lease.startedAt),
            endsAt: lease.endAt === null ? null : new Date(lease.endAt),
            periodSeconds: 3_600,
          },
          cmd.side,
          new Date(model.now),
          { mode: cmd.mode, noticeHours: NOTICE_HOURS, gpus: lease.gpus },
        );
        const status = lease.status;
        const earningsBefore = model.balance(lease.provider, 'PROVIDER_EARNINGS');
        const outcome = model.terminate(lease.id, cmd.side, cmd.mode);
        if (outcome === 'refused') agree(where, domain.kind, 'unchanged');
        else if (status === 'SCHEDULED') {
          agree(where, domain.kind === 'terminate' && domain.refundInFull, true);
          rules.apply(refundOf(lease, 'terminated before access'));
          flags.add('terminatedBeforeAccess');
        } else if (cmd.side === 'PROVIDER' && cmd.mode === 'NOTICE') {
          agree(where, domain, { kind: 'notice', endsAt: new Date(lease.endAt!) });
          flags.add('providerNotice');
        } else if (cmd.side === 'PROVIDER') {
          agree(where, domain.kind === 'terminate' && !domain.refundInFull, true);
          const penalty =
            domain.kind === 'terminate' && domain.penaltyGpuSeconds !== undefined
              ? earlyEndPenalty(lease.price, domain.penaltyGpuSeconds)
              : 0n;
          agree(where, penalty, lease.penalty);
          if (penalty > 0n) {
            rules.apply(
              penaltyTransfer({
                leaseId: lease.id,
                buyerOrganisationId: lease.buyer,
                providerOrganisationId: lease.provider,
                currency: CURRENCY,
                amount: penalty,
                earnings: earningsBefore,
              }),
            );
            flags.add('penalties');
            if (penalty > earningsBefore) flags.add('receivables');
          }
          flags.add('providerCut');
        } else {
          agree(where, domain, { kind: 'shorten', endsAt: new Date(lease.endAt!) });
          flags.add('buyerShortened');
        }
        break;
      }
      case 'reclaim': {
        // Mostly a running reclaimable lease (as a provider would), sometimes any (refused).
        const running = [...model.leases.values()].filter(
          (l) => (l.status === 'ACTIVE' && l.reclaimNoticeMinutes !== null) || cmd.pick % 4 === 0,
        );
        const lease = pickOf(running, cmd.pick);
        if (lease === undefined) break;
        const domain = terminationOutcome(
          {
            status: lease.status,
            startedAt: lease.startedAt === null ? null : new Date(lease.startedAt),
            endsAt: lease.endAt === null ? null : new Date(lease.endAt),
            periodSeconds: 3_600,
            // The model's leases start at once: a SCHEDULED one awaits access in an open window.
            startsAt: null,
            reclaimable: lease.reclaimNoticeMinutes !== null,
          },
          'PROVIDER',
          new Date(model.now),
          {
            mode: 'RECLAIM',
            noticeHours: NOTICE_HOURS,
            gpus: lease.gpus,
            reclaimNoticeMinutes: lease.reclaimNoticeMinutes,
          },
        );
        const outcome = model.reclaim(lease.id);
        if (outcome === 'ok') {
          // No money moves now: no penalty; the end moves to the notice.
          agree(where, domain, { kind: 'reclaim', endsAt: new Date(lease.endAt!) });
          flags.add('reclaims');
        } else {
          const closed = lease.status === 'ENDED' || lease.status === 'TERMINATED';
          const refusable = lease.reclaimNoticeMinutes === null || lease.status === 'SCHEDULED';
          agree(where, domain.kind, closed ? 'unchanged' : refusable ? 'refused' : 'unchanged');
          flags.add('reclaimRefused');
        }
        break;
      }
      case 'payout': {
        const org = orgs[cmd.org]!;
        const source = BUYERS.includes(org) ? ('BUYER_AVAILABLE' as const) : ('PROVIDER_EARNINGS' as const);
        const balance = model.balance(org, source);
        const amount = (balance * BigInt(cmd.percent)) / 100n + (cmd.percent > 100 ? 1n : 0n);
        const payout: PayoutMoney = {
          payoutId: id('payout'),
          organisationId: org,
          source,
          amount,
          currency: CURRENCY,
        };
        const outcome = model.requestPayout({ id: payout.payoutId, org, source, amount });
        if (outcome === 'ok') {
          rules.apply(payoutRequestTransfer(payout));
          flags.add('payouts');
        } else flags.add('payoutRefused');
        break;
      }
      case 'extend': {
        // Mostly a running lease (as a buyer would), sometimes any (refused).
        const running = [...model.leases.values()].filter((l) => l.status === 'ACTIVE' || cmd.pick % 5 === 0);
        const lease = pickOf(running, cmd.pick);
        if (lease === undefined) break;
        let domain: ReturnType<typeof extensionTerms> | DomainError;
        try {
          domain = extensionTerms(
            {
              status: lease.status,
              startedAt: lease.startedAt === null ? null : new Date(lease.startedAt),
              endsAt: lease.endAt === null ? null : new Date(lease.endAt),
              durationHours: lease.hours,
              noticeGivenAt: lease.noticed ? new Date(model.now) : null,
              pricePerGpuHour: lease.price,
              gpus: lease.gpus,
              settlementState: 'OPEN',
            },
            {
              status: 'FILLED',
              pricePerGpuHour: lease.price,
              availableUntil: new Date(model.now + 10_000 * 3_600_000),
              providerStatus: 'VERIFIED',
              marketStatus: 'ACTIVE',
              currencyScale: 2,
              idleWindows: null,
            },
            cmd.hours,
            new Date(model.now),
          );
        } catch (error) {
          if (!(error instanceof DomainError)) throw error;
          domain = error;
        }
        const available = model.balance(lease.buyer, 'BUYER_AVAILABLE');
        const outcome = model.extend(lease.id, cmd.hours);
        if (outcome === 'refused') {
          // The rule refused it, or available credit did not cover the hold (the ledger's 402).
          if (!(domain instanceof DomainError)) agree(where, domain.amount > available, true);
          flags.add('extensionRefused');
          break;
        }
        if (domain instanceof DomainError) agree(where, domain.message, 'accepted by the model');
        else {
          agree(where, domain.endsAt.getTime(), lease.endAt);
          rules.apply(
            leaseExtensionTransfer({
              leaseId: lease.id,
              number: lease.extensions,
              organisationId: lease.buyer,
              amount: domain.amount,
              currency: CURRENCY,
            }),
          );
        }
        flags.add('extensions');
        break;
      }
      case 'decide': {
        const payout = pickOf([...model.payouts.values()], cmd.pick);
        if (payout === undefined) break;
        const money: PayoutMoney = {
          payoutId: payout.id,
          organisationId: payout.org,
          source: payout.source,
          amount: payout.amount,
          currency: CURRENCY,
        };
        if (model.decidePayout(payout.id, cmd.confirm) === 'ok') {
          rules.apply(cmd.confirm ? payoutPaidTransfer(money) : payoutReturnTransfer(money));
          flags.add(cmd.confirm ? 'payoutsPaid' : 'payoutsRejected');
        }
        break;
      }
    }
    agree(where, model.violations(), []);
    agree(where, nonZero(rules.balances), nonZero(model.snapshot()));
  }
  if ([...model.leases.values()].some((l) => l.extensions > 0 && l.released))
    flags.add('extendedThenSettled');
  // A reclaimed lease settled to its end, its last period cut short by the reclaim.
  if (
    [...model.leases.values()].some(
      (l) => l.reason === 'RECLAIMED' && l.released && (l.endAt! - l.startedAt!) % 3_600_000 !== 0,
    )
  )
    flags.add('reclaimedThenSettled');
  coverage.sequences += 1;
  coverage.lengths.push(commands.length);
  for (const flag of flags) coverage.with[flag] += 1;
}

function refundOf(lease: ModelLease, reason: string): TransferDraft {
  return leaseRefundTransfer({
    leaseId: lease.id,
    organisationId: lease.buyer,
    currency: CURRENCY,
    pricePerGpuHour: lease.price,
    gpus: lease.gpus,
    durationHours: lease.hours,
    reason,
  });
}

/** Balances as sorted "account=amount" strings, zeros left out (a rule writes no zero entry). */
function nonZero(balances: ReadonlyMap<string, bigint>): string[] {
  return [...balances]
    .filter(([, amount]) => amount !== 0n)
    .map(([account, amount]) => `${account}=${amount}`)
    .sort();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const percent = (count: number) => (100 * count) / Math.max(coverage.sequences, 1);

describe('money: the ledger and settlement rules vs a naive model (model-based, fast-check)', () => {
  it(
    `keeps the invariants and agrees with the domain rules over ${NUM_RUNS} command sequences`,
    () => {
      const started = Date.now();
      fc.assert(
        fc.property(commandsArb, (commands) => runSequence(commands)),
        {
          numRuns: NUM_RUNS,
          // The failure report carries { seed, path } (MONEY_MODEL_SEED / _PATH replay it) and the shrunk sequence.
          verbose: fc.VerbosityLevel.None,
          ...(REPLAY_SEED === undefined ? {} : { seed: Number(REPLAY_SEED) }),
          ...(REPLAY_PATH === undefined ? {} : { path: REPLAY_PATH }),
        },
      );
      const figures = {
        sequences: coverage.sequences,
        medianCommands: median(coverage.lengths),
        percentOfSequencesWith: Object.fromEntries(
          Object.entries(coverage.with).map(([key, count]) => [key, Number(percent(count).toFixed(1))]),
        ),
        commandsExecuted: coverage.kinds,
        seconds: (Date.now() - started) / 1000,
      };
      process.stdout.write(`money model-based coverage: ${JSON.stringify(figures)}\n`);
      if (!ASSERT_COVERAGE) return;
      // Floors far below the shares measured over several seeds (see FLOORS), so no seed fails CI.
      const short = Object.entries(FLOORS)
        .filter(([flag, floor]) => percent(coverage.with[flag as Flag]) < floor)
        .map(([flag, floor]) => `${flag}: ${percent(coverage.with[flag as Flag]).toFixed(1)}% < ${floor}%`);
      if (figures.medianCommands < 50) short.push(`median sequence length ${figures.medianCommands} < 50`);
      for (const kind of KINDS) if (coverage.kinds[kind] === 0) short.push(`command ${kind} never executed`);
      expect(short).toEqual([]);
    },
    5 * 60_000,
  );
});

/**
 * Percent of sequences that must contain each case, about half the share measured (seeds 1-3,
 * 2,000 sequences each: fills 66, settled periods 36, reported usage 7, final releases 30,
 * buyer-shortened 10, provider cut without notice 8 (with a penalty 8, beyond earnings 7, netted
 * later 4), provider notice 5, terminated before access 23, provisioning failures 49,
 * payouts 45 (paid 19, rejected 18), insufficient funds 84, refused payouts 74, refused
 * reports 53, top-ups beyond 2^53 fen 31; extensions 28, extended leases settled to the end 6,
 * refused extensions 33, one seed), so a random seed cannot fail CI. With SLO
 * leases (seeds 1-4 before extensions): SLO periods settled 11, credited 10.5, silent providers
 * 10.5, credits capped at the proceeds 2.8; a miss only the buyer's evidence shows settles in
 * about 0.3% of sequences, too few for a floor: the SLO suite (test/e2e/slo.e2e.spec.ts) runs
 * that case every time. Recoveries (a receivable netted from a later period) are the rarest
 * floored case: 2.2% and 2.5% of 4,000 sequences in two runs on 2026-12-06. Their floor was 1.4%,
 * about 2.7 deviations below, which a binomial share of 2.35% misses by chance once in 130,000
 * runs but one of 2.0% (the earlier measure) once in 550; at 1.0% (40 sequences) the chance is
 * below 2 in a million even at a share of 1.9%, and a generator that stops reaching recoveries
 * still fails it. Every other floor fails by chance less than once in 10 million runs at the
 * shares of those two runs (binomial tails). With reclaimable leases (one seed,
 * 4,000 sequences): reclaims 11.4, reclaimed leases settled with a cut last period 4.7, refused
 * reclaims 21.6.
 */
const FLOORS: Partial<Record<Flag, number>> = {
  fills: 40,
  settledPeriods: 20,
  reportedPeriods: 3,
  finalReleases: 15,
  buyerShortened: 5,
  providerCut: 4,
  providerNotice: 2.5,
  penalties: 4,
  receivables: 3.5,
  recoveries: 1.0,
  terminatedBeforeAccess: 12,
  provisioningFailures: 25,
  payouts: 25,
  payoutsPaid: 10,
  payoutsRejected: 10,
  insufficientFunds: 50,
  payoutRefused: 40,
  reportRefused: 30,
  beyondDouble: 15,
  extensions: 14,
  extendedThenSettled: 2.5,
  extensionRefused: 16,
  sloPeriods: 5,
  sloCredits: 5,
  sloSilent: 5,
  sloCreditCapped: 1.2,
  reclaims: 5.5,
  reclaimedThenSettled: 2.3,
  reclaimRefused: 10,
};
