/**
 * Model-based test of the matching core against the naive reference model (docs/MATCHING.md).
 *
 * fast-check generates a market (organisations, several sites each, provinces from a small set)
 * and a long sequence of commands (place / cancel / amend orders, advance time, verify or
 * suspend an organisation, end a lease, run matching). Every "run matching" hands the same
 * frozen book to the real core and to the reference: the fills must be equal (same bid, offer,
 * site, GPUs, price, same order), the core's fills must satisfy the run invariants, and an
 * immediate re-run must fill nothing (liveness). State
 * invariants are checked after every command. The suite asserts its own coverage at the end.
 *
 *   MATCHING_PROPERTY_RUNS=20000 npx jest test/matching/model-based   # more runs locally
 *   MATCHING_PROPERTY_SEED=123 MATCHING_PROPERTY_PATH="4:2" npx jest test/matching/model-based
 */
import fc from 'fast-check';
import type { InferenceDemandTerms, OfferServing } from '@/modules/matching/domain/book';
import { leaseStartOf } from '@/modules/matching/domain/eligibility';
import { matchMarket } from '@/modules/matching/domain/match-market';
import { IdleSchedule } from '@/modules/markets/domain/idle-schedule';
import type { IdleWindowsSpec } from '@/modules/markets/domain/order-terms';
import { runViolations, showFill } from './invariants';
import {
  brokenRules,
  HOUR,
  referenceLeaseStart,
  referencePass,
  referenceRun,
  type BookBid,
  type BookOffer,
  type Fill,
} from './reference-model';

const NUM_RUNS = Number(process.env.MATCHING_PROPERTY_RUNS ?? 1000);
const REPLAY_SEED = process.env.MATCHING_PROPERTY_SEED;
const REPLAY_PATH = process.env.MATCHING_PROPERTY_PATH;
/** Coverage is asserted only for a full, fresh run (not when replaying one counterexample). */
const ASSERT_COVERAGE = REPLAY_SEED === undefined && NUM_RUNS >= 1000;
/**
 * Lengths are drawn from 0..MAX_COMMANDS (median ~ MAX_COMMANDS / 2, asserted >= 100 below); no
 * minimum length, so a failing sequence shrinks to the few commands that matter.
 */
const MAX_COMMANDS = 300;

const START = Date.parse('2026-12-01T00:00:00Z');
const MINUTE = 60_000;
/** GB/T 2260 codes: Beijing, Guangdong, Guizhou. */
const PROVINCES = ['11', '44', '52'] as const;
/** Few prices, so that price ties (and seq tie-breaks) are common. */
const PRICES = [1700n, 1750n, 1800n, 1850n, 1900n, 2000n] as const;

// ---------------------------------------------------------------------------------------------
// Commands and their generators
// ---------------------------------------------------------------------------------------------

type Command =
  | {
      kind: 'placeOffer';
      org: number;
      site: number;
      price: number;
      gpus: number;
      fromHours: number;
      windowHours: number;
      minLeaseHours: number;
      /** Index into SERVINGS; -1 serves nothing. */
      serves: number;
      /** Index into IDLE; -1: no idle windows. */
      idle: number;
      /** The pay-per-use floor, percent. */
      payPerUseMinPercent: number;
    }
  | {
      kind: 'placeBid';
      org: number;
      price: number;
      gpus: number;
      durationHours: number;
      provinces: number[];
      minGpusPerSite: number;
      partialAllowed: boolean;
      expiresInHours: number;
      /** Index into DEMANDS; -1 for a GPU bid. */
      inference: number;
      /** An inference bid's take-or-pay share, percent. */
      takeOrPayPercent: number;
      /** An inference bid's replica size (its lot). */
      lot: number;
      /** A minimum provider score; 0 stands for none. */
      minProviderScore: number;
      interruptible: boolean;
    }
  | { kind: 'cancelOffer'; pick: number }
  | { kind: 'cancelBid'; pick: number }
  | { kind: 'amendOfferPrice'; pick: number; price: number }
  | { kind: 'amendOfferQuantity'; pick: number; lowerBy: number }
  | { kind: 'advanceTime'; minutes: number; sweep: boolean }
  | { kind: 'verifyOrganisation'; org: number }
  | { kind: 'suspendOrganisation'; org: number }
  | { kind: 'endLease'; pick: number }
  | { kind: 'runMatching'; rotate: number };

type Kind = Command['kind'];

const KINDS: readonly Kind[] = [
  'placeOffer',
  'placeBid',
  'cancelOffer',
  'cancelBid',
  'amendOfferPrice',
  'amendOfferQuantity',
  'advanceTime',
  'verifyOrganisation',
  'suspendOrganisation',
  'endLease',
  'runMatching',
];

// Inference bids (docs/INFERENCE.md): what offers serve, by model, and what bids ask. Demand 0
// sizes into 3 GPUs on profile m1 of SERVINGS[0] and 6 on SERVINGS[1]; demand 2's SLO excludes
// SERVINGS[1] by latency; demand 1 wants m2, 8 GPUs on SERVINGS[1] and 2 on SERVINGS[2].
const SERVINGS: ReadonlyArray<Record<string, OfferServing>> = [
  {
    m1: {
      promptTokensPerSecondPerGpu: 3000,
      outputTokensPerSecondPerGpu: 1000,
      ttftP50Ms: 60,
      ttftP95Ms: 100,
      gpusPerReplica: 1,
    },
  },
  {
    m1: {
      promptTokensPerSecondPerGpu: 1500,
      outputTokensPerSecondPerGpu: 500,
      ttftP50Ms: 90,
      ttftP95Ms: 250,
      gpusPerReplica: 2,
    },
    m2: {
      promptTokensPerSecondPerGpu: 2000,
      outputTokensPerSecondPerGpu: 300,
      ttftP50Ms: 200,
      ttftP95Ms: 400,
      gpusPerReplica: 4,
    },
  },
  {
    m2: {
      promptTokensPerSecondPerGpu: 4000,
      outputTokensPerSecondPerGpu: 800,
      ttftP50Ms: 80,
      ttftP95Ms: 150,
      gpusPerReplica: 2,
    },
  },
];
const DEMANDS: ReadonlyArray<Omit<InferenceDemandTerms, 'sizedGpus' | 'takeOrPayPercent'>> = [
  { modelId: 'm1', outputTokensPerSecond: 2000, promptTokensPerSecond: 2000, ttftP95Ms: 300 },
  { modelId: 'm2', outputTokensPerSecond: 1000, promptTokensPerSecond: 3000, ttftP95Ms: 500 },
  { modelId: 'm1', outputTokensPerSecond: 500, promptTokensPerSecond: 0, ttftP95Ms: 120 },
];

// Idle windows (docs/LEASES.md): nightly 12 h in UTC; weekends (merged, 48 h) and short late
// evenings in Asia/Shanghai; two touching morning windows that merge into 9 h.
const IDLE: readonly IdleWindowsSpec[] = [
  {
    timeZone: 'UTC',
    reclaimNoticeMinutes: 60,
    windows: [{ days: ['MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT', 'SUN'], start: '20:00', end: '08:00' }],
  },
  {
    timeZone: 'Asia/Shanghai',
    reclaimNoticeMinutes: 30,
    windows: [
      { days: ['SAT', 'SUN'], start: '00:00', end: '24:00' },
      { days: ['MON', 'TUE', 'WED', 'THU', 'FRI'], start: '22:00', end: '02:00' },
    ],
  },
  {
    timeZone: 'UTC',
    reclaimNoticeMinutes: 15,
    windows: [
      { days: ['MON', 'WED', 'FRI', 'SUN'], start: '00:00', end: '06:00' },
      { days: ['MON', 'WED', 'FRI', 'SUN'], start: '06:00', end: '09:00' },
    ],
  },
];

const index = fc.nat({ max: 999 });
const priceIndex = fc.nat({ max: PRICES.length - 1 });

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('placeOffer' as const),
      org: index,
      site: index,
      price: priceIndex,
      gpus: fc.integer({ min: 1, max: 10 }),
      fromHours: fc.constantFrom(-48, -6, -1, 0, 0, 0, 1, 2, 6),
      windowHours: fc.constantFrom(4, 12, 24, 48, 96, 240),
      minLeaseHours: fc.constantFrom(1, 1, 2, 4, 12, 24, 48),
      serves: fc.constantFrom(-1, -1, 0, 1, 2),
      idle: fc.constantFrom(-1, -1, -1, 0, 1, 2),
      payPerUseMinPercent: fc.constantFrom(0, 0, 10, 30, 50, 80),
    }),
  },
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('placeBid' as const),
      org: index,
      price: priceIndex,
      gpus: fc.integer({ min: 1, max: 12 }),
      durationHours: fc.constantFrom(1, 1, 2, 4, 8, 24, 48),
      provinces: fc.oneof(
        fc.constant([] as number[]),
        fc.uniqueArray(fc.nat({ max: PROVINCES.length - 1 }), { minLength: 1, maxLength: 2 }),
      ),
      minGpusPerSite: fc.constantFrom(1, 1, 1, 2, 3, 4, 6),
      partialAllowed: fc.boolean(),
      expiresInHours: fc.constantFrom(1, 2, 4, 6, 12, 24, 48, 72, 168),
      inference: fc.constantFrom(-1, -1, -1, 0, 1, 2),
      takeOrPayPercent: fc.constantFrom(0, 10, 50, 50, 100),
      // An inference bid's replica size, its lot (docs/MATCHING.md "Lots").
      lot: fc.constantFrom(1, 2, 2, 4),
      minProviderScore: fc.constantFrom(0, 0, 0, 75, 80, 90),
      interruptible: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancelOffer' as const), pick: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancelBid' as const), pick: index }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('amendOfferPrice' as const), pick: index, price: priceIndex }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('amendOfferQuantity' as const),
      pick: index,
      lowerBy: fc.integer({ min: 1, max: 4 }),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('advanceTime' as const),
      minutes: fc.constantFrom(30, 60, 60, 120, 180, 360, 720),
      sweep: fc.oneof(
        { weight: 1, arbitrary: fc.constant(true) },
        { weight: 3, arbitrary: fc.constant(false) },
      ),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('verifyOrganisation' as const), org: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('suspendOrganisation' as const), org: index }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('endLease' as const), pick: index }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('runMatching' as const), rotate: index }) },
);

interface OrgSpec {
  verified: boolean;
  /** Its stored reliability score (docs/RELIABILITY.md): what offers carry for rule 7. */
  score: number;
  /** One province per site. */
  sites: (typeof PROVINCES)[number][];
}

const orgsArb: fc.Arbitrary<OrgSpec[]> = fc.array(
  fc.record({
    verified: fc.oneof(
      { weight: 3, arbitrary: fc.constant(true) },
      { weight: 1, arbitrary: fc.constant(false) },
    ),
    sites: fc.array(fc.constantFrom(...PROVINCES), { minLength: 1, maxLength: 3 }),
    score: fc.constantFrom(80, 80, 62.5, 75, 90, 97.5),
  }),
  { minLength: 4, maxLength: 6 },
);

const commandsArb = fc.array(commandArb, { maxLength: MAX_COMMANDS, size: 'max' });

// ---------------------------------------------------------------------------------------------
// The market the commands act on (what persistence would hold)
// ---------------------------------------------------------------------------------------------

type OrgStatus = 'PENDING' | 'VERIFIED' | 'SUSPENDED';

interface Org {
  id: string;
  status: OrgStatus;
  score: number;
  sites: { id: string; province: string }[];
}

interface OfferRecord {
  id: string;
  orgId: string;
  siteId: string;
  province: string;
  price: bigint;
  /** GPUs offered (leases hold part of them). */
  gpus: number;
  seq: bigint;
  availableFrom: number;
  availableUntil: number;
  minLeaseHours: number;
  payPerUseMinPercent: number;
  serving?: Record<string, OfferServing>;
  /** One schedule per offer, kept across runs as the worker's book keeps it. */
  idle?: IdleSchedule;
}

interface BidRecord {
  id: string;
  orgId: string;
  price: bigint;
  gpus: number;
  filled: number;
  seq: bigint;
  durationHours: number;
  provinces: string[];
  minGpusPerSite: number;
  partialAllowed: boolean;
  expiresAt: number;
  inference?: InferenceDemandTerms;
  minProviderScore?: number;
  interruptible: boolean;
}

interface LeaseRecord {
  id: string;
  offerId: string;
  bidId: string;
  gpus: number;
}

class Market {
  now = START;
  readonly orgs: Org[];
  offers: OfferRecord[] = [];
  bids: BidRecord[] = [];
  leases: LeaseRecord[] = [];
  private seq = 0n;
  private ids = 0;

  constructor(specs: readonly OrgSpec[]) {
    this.orgs = specs.map((spec, i) => ({
      id: `org${i}`,
      status: spec.verified ? 'VERIFIED' : 'PENDING',
      score: spec.score,
      sites: spec.sites.map((province, j) => ({ id: `S${i}.${j}`, province })),
    }));
  }

  private nextSeq(): bigint {
    this.seq += 1n;
    return this.seq;
  }

  private nextId(prefix: string): string {
    this.ids += 1;
    return `${prefix}${this.ids}`;
  }

  private org(i: number): Org {
    const org = this.orgs[i % this.orgs.length];
    if (org === undefined) throw new Error('no organisations');
    return org;
  }

  leased(offerId: string): number {
    return this.leases.filter((l) => l.offerId === offerId).reduce((sum, l) => sum + l.gpus, 0);
  }

  verified(orgId: string): boolean {
    return this.orgs.find((o) => o.id === orgId)?.status === 'VERIFIED';
  }

  /** The book a run loads: live offers (even with 0 free) and OPEN / PARTIALLY_FILLED bids. */
  book(rotate = 0): { bids: BookBid[]; offers: BookOffer[] } {
    const offers: BookOffer[] = this.offers.map((o) => ({
      id: o.id,
      organisationId: o.orgId,
      verified: this.verified(o.orgId),
      siteId: o.siteId,
      province: o.province,
      price: o.price,
      free: o.gpus - this.leased(o.id),
      seq: o.seq,
      availableFrom: o.availableFrom,
      availableUntil: o.availableUntil,
      minLeaseHours: o.minLeaseHours,
      payPerUseMinPercent: o.payPerUseMinPercent,
      ...(o.serving === undefined ? {} : { serving: o.serving }),
      providerScore: this.orgs.find((org) => org.id === o.orgId)?.score ?? 80,
      ...(o.idle === undefined ? {} : { idle: o.idle }),
    }));
    const bids: BookBid[] = this.bids
      .filter((b) => b.filled < b.gpus)
      .map((b) => ({
        id: b.id,
        organisationId: b.orgId,
        verified: this.verified(b.orgId),
        price: b.price,
        remaining: b.gpus - b.filled,
        seq: b.seq,
        durationHours: b.durationHours,
        provinces: [...b.provinces],
        minGpusPerSite: b.minGpusPerSite,
        partialAllowed: b.partialAllowed,
        expiresAt: b.expiresAt,
        ...(b.inference === undefined ? {} : { inference: b.inference }),
        ...(b.minProviderScore === undefined ? {} : { minProviderScore: b.minProviderScore }),
        ...(b.interruptible ? { interruptible: true } : {}),
      }));
    // the input order must not matter: hand the book over rotated
    return { bids: rotated(bids, rotate), offers: rotated(offers, rotate * 7) };
  }

  /** Persist a run's fills: one lease per fill, bids' filled GPUs; FILLED bids leave the book. */
  applyFills(fills: readonly Fill[]): void {
    for (const f of fills) {
      this.leases.push({ id: this.nextId('L'), offerId: f.offerId, bidId: f.bidId, gpus: f.gpus });
      const bid = this.bids.find((b) => b.id === f.bidId);
      if (bid === undefined) throw new Error(`fill for unknown bid ${f.bidId}`);
      bid.filled += f.gpus;
    }
    this.bids = this.bids.filter((b) => b.filled < b.gpus);
  }

  /** Applies a command other than runMatching; false when it was refused or had nothing to act on. */
  apply(cmd: Exclude<Command, { kind: 'runMatching' }>): boolean {
    switch (cmd.kind) {
      case 'placeOffer': {
        const org = this.org(cmd.org);
        if (org.status === 'SUSPENDED') return false; // read-only
        const site = org.sites[cmd.site % org.sites.length];
        if (site === undefined) return false;
        const availableFrom = this.now + cmd.fromHours * HOUR;
        this.offers.push({
          id: this.nextId('O'),
          orgId: org.id,
          siteId: site.id,
          province: site.province,
          price: PRICES[cmd.price] ?? PRICES[0],
          gpus: cmd.gpus,
          seq: this.nextSeq(),
          availableFrom,
          availableUntil: Math.max(availableFrom, this.now) + cmd.windowHours * HOUR,
          minLeaseHours: cmd.minLeaseHours,
          payPerUseMinPercent: cmd.payPerUseMinPercent,
          ...(SERVINGS[cmd.serves] === undefined ? {} : { serving: SERVINGS[cmd.serves] }),
          ...(IDLE[cmd.idle] === undefined ? {} : { idle: new IdleSchedule(IDLE[cmd.idle]!) }),
        });
        return true;
      }
      case 'placeBid': {
        const org = this.org(cmd.org);
        if (org.status === 'SUSPENDED') return false;
        // Sizing makes an inference bid's GPUs whole replicas.
        const gpus =
          DEMANDS[cmd.inference] === undefined ? cmd.gpus : Math.ceil(cmd.gpus / cmd.lot) * cmd.lot;
        this.bids.push({
          id: this.nextId('B'),
          orgId: org.id,
          price: PRICES[cmd.price] ?? PRICES[0],
          gpus,
          filled: 0,
          seq: this.nextSeq(),
          durationHours: cmd.durationHours,
          provinces: cmd.provinces.map((p) => PROVINCES[p] ?? PROVINCES[0]).sort(),
          minGpusPerSite: Math.min(cmd.minGpusPerSite, gpus),
          partialAllowed: cmd.partialAllowed,
          expiresAt: this.now + cmd.expiresInHours * HOUR,
          // Sized into the bid's GPUs: the serving rule then admits offers whose profile needs at most that.
          ...(DEMANDS[cmd.inference] === undefined
            ? {}
            : {
                inference: {
                  ...DEMANDS[cmd.inference]!,
                  sizedGpus: gpus,
                  takeOrPayPercent: cmd.takeOrPayPercent,
                  gpusPerReplica: cmd.lot,
                },
              }),
          ...(cmd.minProviderScore === 0 ? {} : { minProviderScore: cmd.minProviderScore }),
          interruptible: cmd.interruptible,
        });
        return true;
      }
      case 'cancelOffer': {
        const offer = this.offers[cmd.pick % Math.max(this.offers.length, 1)];
        if (offer === undefined) return false;
        this.offers = this.offers.filter((o) => o !== offer); // leases are binding and run on
        return true;
      }
      case 'cancelBid': {
        const bid = this.bids[cmd.pick % Math.max(this.bids.length, 1)];
        if (bid === undefined) return false;
        this.bids = this.bids.filter((b) => b !== bid);
        return true;
      }
      case 'amendOfferPrice': {
        const offer = this.offers[cmd.pick % Math.max(this.offers.length, 1)];
        const price = PRICES[cmd.price] ?? PRICES[0];
        if (offer === undefined || offer.availableUntil <= this.now || offer.price === price) return false;
        offer.price = price;
        offer.seq = this.nextSeq(); // a price change loses time priority
        return true;
      }
      case 'amendOfferQuantity': {
        const offer = this.offers[cmd.pick % Math.max(this.offers.length, 1)];
        if (offer === undefined || offer.availableUntil <= this.now) return false;
        const gpus = Math.max(this.leased(offer.id), 1, offer.gpus - cmd.lowerBy); // never below leased
        if (gpus === offer.gpus) return false;
        offer.gpus = gpus; // seq kept
        return true;
      }
      case 'advanceTime': {
        this.now += cmd.minutes * MINUTE;
        if (cmd.sweep) {
          // the expiry sweep: EXPIRED bids and offers leave the book (unswept ones stay)
          this.bids = this.bids.filter((b) => this.now < b.expiresAt);
          this.offers = this.offers.filter((o) => this.now < o.availableUntil);
        }
        return true;
      }
      case 'verifyOrganisation': {
        const org = this.org(cmd.org);
        if (org.status === 'VERIFIED') return false;
        org.status = 'VERIFIED';
        return true;
      }
      case 'suspendOrganisation': {
        const org = this.org(cmd.org);
        if (org.status === 'SUSPENDED') return false;
        org.status = 'SUSPENDED'; // its open orders are cancelled; leases run on
        this.bids = this.bids.filter((b) => b.orgId !== org.id);
        this.offers = this.offers.filter((o) => o.orgId !== org.id);
        return true;
      }
      case 'endLease': {
        const lease = this.leases[cmd.pick % Math.max(this.leases.length, 1)];
        if (lease === undefined) return false;
        this.leases = this.leases.filter((l) => l !== lease); // its GPUs return to the offer
        return true;
      }
    }
  }

  /** State invariants that hold after every command. */
  stateViolations(): string[] {
    const violations: string[] = [];
    for (const o of this.offers) {
      const leased = this.leased(o.id);
      if (leased > o.gpus) violations.push(`offer ${o.id}: ${leased} leased of ${o.gpus}`);
    }
    for (const b of this.bids) {
      if (b.filled > b.gpus) violations.push(`bid ${b.id}: filled ${b.filled} of ${b.gpus}`);
    }
    for (const b of this.bids) {
      // FILLED bids leave the book, so an all-or-nothing bid still here has filled nothing
      if (!b.partialAllowed && b.filled !== 0)
        violations.push(`all-or-nothing bid ${b.id} holds ${b.filled} of ${b.gpus}`);
    }
    const seqs = [...this.offers.map((o) => o.seq), ...this.bids.map((b) => b.seq)];
    if (new Set(seqs).size !== seqs.length) violations.push('two live orders share a seq');
    return violations;
  }
}

function rotated<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return [];
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** The core gets a frozen book: a pure core never writes to its input. */
function frozen(book: { bids: BookBid[]; offers: BookOffer[] }): {
  bids: readonly BookBid[];
  offers: readonly BookOffer[];
} {
  for (const b of book.bids) {
    Object.freeze(b.provinces);
    Object.freeze(b);
  }
  for (const o of book.offers) Object.freeze(o);
  return { bids: Object.freeze(book.bids), offers: Object.freeze(book.offers) };
}

function coreRun(book: { bids: BookBid[]; offers: BookOffer[] }, now: number): Fill[] {
  const input = frozen(book);
  return [...matchMarket(input.bids, input.offers, now).fills];
}

function json(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

function describeBook(book: { bids: readonly BookBid[]; offers: readonly BookOffer[] }, now: number): string {
  return [
    `now = ${new Date(now).toISOString()} (${now})`,
    'bids:',
    ...book.bids.map((b) => `  ${json(b)}`),
    'offers:',
    ...book.offers.map((o) => `  ${json(o)}`),
  ].join('\n');
}

function assertSameFills(
  what: string,
  core: readonly Fill[],
  reference: readonly Fill[],
  book: { bids: readonly BookBid[]; offers: readonly BookOffer[] },
  now: number,
): void {
  const a = core.map(showFill);
  const b = reference.map(showFill);
  if (a.length === b.length && a.every((line, i) => line === b[i])) return;
  const sorted = (lines: string[]): string => [...lines].sort().join('|');
  const onlyOrder = sorted(a) === sorted(b);
  throw new Error(
    [
      `${what}: the core and the reference model disagree` +
        (onlyOrder
          ? ' (same fills in another order: the doc lists them bid by bid, each bid’s in offer priority order)'
          : ''),
      `core:      ${a.join(', ') || '(none)'}`,
      `reference: ${b.join(', ') || '(none)'}`,
      describeBook(book, now),
    ].join('\n'),
  );
}

// ---------------------------------------------------------------------------------------------
// Coverage, across all generated sequences
// ---------------------------------------------------------------------------------------------

interface SequenceFlags {
  fills: boolean;
  allOrNothingAcrossOffers: boolean;
  coLocationExclusion: boolean;
  expiry: boolean;
  needBelowMinimum: boolean;
  /** A run needed more than one pass (co-location freed by later bids, or a shrinking remainder). */
  multiPass: boolean;
  priceTieAcrossOffers: boolean;
  unverifiedCrossing: boolean;
  /** An inference bid filled. */
  inferenceFill: boolean;
  /** An inference bid with replicas of more than one GPU filled (docs/MATCHING.md "Lots"). */
  lotFill: boolean;
  /** A bid with a minimum provider score filled. */
  minScoreFill: boolean;
  /** A bid's minimum score was the first rule to rule out an offer of its run. */
  reliabilityExclusion: boolean;
  /** An offer's pay-per-use floor above an inference bid's take-or-pay share was the first rule to rule it out. */
  takeOrPayExclusion: boolean;
  /** A lease on idle windows was made for a window that opens later (SCHEDULED until then). */
  scheduledFill: boolean;
  /** An interruptible bid filled on idle windows it does not fit whole. */
  interruptibleFill: boolean;
  /** Idle windows ruled out a bid that would have traded had it been interruptible. */
  idleWindowExclusion: boolean;
}

const coverage = {
  sequences: 0,
  lengths: [] as number[],
  runs: 0,
  runsWithFills: 0,
  fills: 0,
  bookBids: 0,
  bookOffers: 0,
  kinds: Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>,
  with: {
    fills: 0,
    allOrNothingAcrossOffers: 0,
    coLocationExclusion: 0,
    expiry: 0,
    needBelowMinimum: 0,
    multiPass: 0,
    priceTieAcrossOffers: 0,
    unverifiedCrossing: 0,
    inferenceFill: 0,
    lotFill: 0,
    minScoreFill: 0,
    reliabilityExclusion: 0,
    takeOrPayExclusion: 0,
    scheduledFill: 0,
    interruptibleFill: 0,
    idleWindowExclusion: 0,
  } satisfies Record<keyof SequenceFlags, number>,
};

function recordRun(
  flags: SequenceFlags,
  book: { bids: readonly BookBid[]; offers: readonly BookOffer[] },
  fills: readonly Fill[],
  reference: ReturnType<typeof referenceRun>,
  now: number,
): void {
  coverage.runs += 1;
  coverage.fills += fills.length;
  coverage.bookBids += book.bids.length;
  coverage.bookOffers += book.offers.length;
  if (fills.length > 0) coverage.runsWithFills += 1;
  if (fills.length > 0) flags.fills = true;
  if (fills.some((f) => book.bids.find((b) => b.id === f.bidId)?.inference !== undefined))
    flags.inferenceFill = true;
  if (fills.some((f) => (book.bids.find((b) => b.id === f.bidId)?.inference?.gpusPerReplica ?? 1) > 1))
    flags.lotFill = true;
  if (fills.some((f) => book.bids.find((b) => b.id === f.bidId)?.minProviderScore !== undefined))
    flags.minScoreFill = true;
  for (const bid of book.bids)
    if (
      bid.minProviderScore !== undefined &&
      book.offers.some((o) => brokenRules(bid, o, now)[0] === 'RELIABILITY')
    )
      flags.reliabilityExclusion = true;
  for (const bid of book.bids)
    if (book.offers.some((o) => brokenRules(bid, o, now)[0] === 'TAKE_OR_PAY'))
      flags.takeOrPayExclusion = true;
  for (const f of fills) {
    const bid = book.bids.find((b) => b.id === f.bidId);
    const offer = book.offers.find((o) => o.id === f.offerId);
    if (bid === undefined || offer?.idle === undefined) continue;
    if ((leaseStartOf(bid, offer, now) ?? now) > now) flags.scheduledFill = true;
    if (
      bid.interruptible === true &&
      referenceLeaseStart({ ...bid, interruptible: false }, offer, now) === null
    )
      flags.interruptibleFill = true;
  }
  for (const bid of book.bids)
    if (
      bid.interruptible !== true &&
      book.offers.some(
        (o) =>
          o.idle !== undefined &&
          brokenRules(bid, o, now)[0] === 'WINDOW' &&
          brokenRules({ ...bid, interruptible: true }, o, now).length === 0,
      )
    )
      flags.idleWindowExclusion = true;
  for (const bid of book.bids) {
    const own = fills.filter((f) => f.bidId === bid.id);
    if (!bid.partialAllowed && new Set(own.map((f) => f.offerId)).size >= 2)
      flags.allOrNothingAcrossOffers = true;
  }
  for (const turn of reference.turns) {
    if (turn.allocation.exclusions.some((e) => e.reason === 'SUPPLY_BELOW_MINIMUM'))
      flags.coLocationExclusion = true;
    if (turn.allocation.exclusions.some((e) => e.reason === 'NEED_BELOW_MINIMUM'))
      flags.needBelowMinimum = true;
    if (turn.expiredCrossings.length > 0) flags.expiry = true;
    const prices = turn.allocation.takes.map((t) => t.offer.price);
    if (new Set(prices).size < prices.length) flags.priceTieAcrossOffers = true;
  }
  const offersById = new Map(book.offers.map((o) => [o.id, o]));
  for (const bid of book.bids) {
    for (const offer of offersById.values()) {
      if (
        (!bid.verified || !offer.verified) &&
        offer.price <= bid.price &&
        bid.organisationId !== offer.organisationId
      ) {
        flags.unverifiedCrossing = true;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The property
// ---------------------------------------------------------------------------------------------

function runSequence(orgs: readonly OrgSpec[], commands: readonly Command[]): void {
  const market = new Market(orgs);
  const flags: SequenceFlags = {
    fills: false,
    allOrNothingAcrossOffers: false,
    coLocationExclusion: false,
    expiry: false,
    needBelowMinimum: false,
    multiPass: false,
    priceTieAcrossOffers: false,
    unverifiedCrossing: false,
    inferenceFill: false,
    lotFill: false,
    minScoreFill: false,
    reliabilityExclusion: false,
    takeOrPayExclusion: false,
    scheduledFill: false,
    interruptibleFill: false,
    idleWindowExclusion: false,
  };

  commands.forEach((cmd, step) => {
    const where = `command #${step} ${json(cmd)}`;
    if (cmd.kind === 'runMatching') {
      const now = market.now;
      const book = market.book(cmd.rotate);
      const fills = coreRun(market.book(cmd.rotate), now);
      const violations = runViolations(book.bids, book.offers, now, fills);
      if (violations.length > 0) {
        throw new Error(
          `${where}: run invariants broken\n${violations.join('\n')}\n${describeBook(book, now)}`,
        );
      }
      const reference = referenceRun(book.bids, book.offers, now);
      assertSameFills(where, fills, reference.fills, book, now);
      // Rule 8's start, which each lease carries: the core's and the reference's agree.
      for (const f of fills) {
        const bid = book.bids.find((b) => b.id === f.bidId)!;
        const offer = book.offers.find((o) => o.id === f.offerId)!;
        const core = leaseStartOf(bid, offer, now);
        const expected = referenceLeaseStart(bid, offer, now);
        if (core !== expected) {
          throw new Error(
            `${where}: ${showFill(f)} starts at ${core} in the core, ${expected} in the reference\n` +
              describeBook(book, now),
          );
        }
      }
      recordRun(flags, book, fills, reference, now);
      market.applyFills(fills);

      // Liveness (invariant 7): a run leaves the book uncrossed, so re-running at once fills nothing.
      const after = market.book();
      const again = coreRun(market.book(), now);
      if (again.length > 0) {
        throw new Error(
          `${where}: the book was left crossed; an immediate re-run fills ${again.map(showFill).join(', ')}\n` +
            describeBook(after, now),
        );
      }
      if (reference.fills.length > referencePass(book.bids, book.offers, now).fills.length)
        flags.multiPass = true;
      coverage.kinds.runMatching += 1;
    } else if (market.apply(cmd)) {
      coverage.kinds[cmd.kind] += 1;
    }
    const broken = market.stateViolations();
    if (broken.length > 0) throw new Error(`${where}: state invariants broken\n${broken.join('\n')}`);
  });

  coverage.sequences += 1;
  coverage.lengths.push(commands.length);
  for (const key of Object.keys(flags) as (keyof SequenceFlags)[]) if (flags[key]) coverage.with[key] += 1;
}

function percent(count: number): number {
  return (100 * count) / Math.max(coverage.sequences, 1);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

describe('matching core vs the reference model (model-based, fast-check)', () => {
  it(
    `agrees with the reference and keeps every invariant over ${NUM_RUNS} command sequences`,
    () => {
      const started = Date.now();
      fc.assert(
        fc.property(orgsArb, commandsArb, (orgs, commands) => runSequence(orgs, commands)),
        {
          numRuns: NUM_RUNS,
          // The failure report always carries { seed, path } and the shrunk counterexample, with
          // the property's error (the disagreement and the book); VerbosityLevel.Verbose would
          // add every intermediate failure met while shrinking, hundreds of long lines.
          verbose: fc.VerbosityLevel.None,
          ...(REPLAY_SEED === undefined ? {} : { seed: Number(REPLAY_SEED) }),
          ...(REPLAY_PATH === undefined ? {} : { path: REPLAY_PATH }),
        },
      );

      const figures = {
        sequences: coverage.sequences,
        medianCommands: median(coverage.lengths),
        runs: coverage.runs,
        runsWithFills: coverage.runsWithFills,
        fills: coverage.fills,
        meanBookAtRun: {
          bids: Number((coverage.bookBids / Math.max(coverage.runs, 1)).toFixed(1)),
          offers: Number((coverage.bookOffers / Math.max(coverage.runs, 1)).toFixed(1)),
        },
        percentOfSequencesWith: Object.fromEntries(
          Object.entries(coverage.with).map(([key, count]) => [key, Number(percent(count).toFixed(1))]),
        ),
        commandsExecuted: coverage.kinds,
        seconds: (Date.now() - started) / 1000,
      };
      process.stdout.write(`matching model-based coverage: ${JSON.stringify(figures)}\n`);

      if (!ASSERT_COVERAGE) return;
      const short: string[] = [];
      if (figures.medianCommands < 100) short.push(`median sequence length ${figures.medianCommands} < 100`);
      if (percent(coverage.with.fills) < 50) short.push('< 50% of sequences contain fills');
      if (percent(coverage.with.allOrNothingAcrossOffers) < 10) {
        short.push('< 10% of sequences contain an all-or-nothing fill across several offers');
      }
      if (percent(coverage.with.coLocationExclusion) < 10)
        short.push('< 10% contain a co-location exclusion');
      if (percent(coverage.with.expiry) < 10)
        short.push('< 10% contain a bid that would have crossed but expired');
      if (percent(coverage.with.inferenceFill) < 10) short.push('< 10% contain a fill of an inference bid');
      if (percent(coverage.with.lotFill) < 10)
        short.push('< 10% contain a fill of an inference bid with replicas of several GPUs');
      if (percent(coverage.with.minScoreFill) < 10)
        short.push('< 10% contain a fill of a bid with a minimum provider score');
      if (percent(coverage.with.reliabilityExclusion) < 10)
        short.push('< 10% contain an offer ruled out by a minimum provider score');
      if (percent(coverage.with.takeOrPayExclusion) < 10)
        short.push("< 10% contain an offer ruled out by a floor above an inference bid's take-or-pay share");
      if (percent(coverage.with.scheduledFill) < 10)
        short.push('< 10% contain a lease made for an idle window that opens later');
      if (percent(coverage.with.interruptibleFill) < 10)
        short.push('< 10% contain an interruptible fill on idle windows it does not fit');
      if (percent(coverage.with.idleWindowExclusion) < 10)
        short.push('< 10% contain a bid that idle windows rule out unless interruptible');
      for (const kind of KINDS) if (coverage.kinds[kind] === 0) short.push(`command ${kind} never executed`);
      expect(short).toEqual([]);
    },
    10 * 60_000,
  );
});
