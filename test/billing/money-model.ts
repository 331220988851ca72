/**
 * A deliberately naive model of the exchange's money, written from docs/LEASES.md and
 * docs/LEDGER.md, not from the services: accounts are plain numbers moved by hand, periods are cut by a loop over wall-clock
 * hours, and every rule is restated in the simplest form that can be checked. The pure spec
 * (money-model.spec.ts) drives it with fast-check and holds the domain rules to it; the database
 * spec (test/e2e/money-model.e2e.spec.ts) drives the real API with the same commands and compares
 * every balance with it.
 */

export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;
/** docs/LEASES.md: pay-per-use periods settle SETTLEMENT_GRACE_MINUTES (15) after their end. */
export const GRACE_MS = 15 * MINUTE_MS;
/** docs/LEASES.md: access must be handed over within LEASE_PROVISIONING_MINUTES (15) of the match. */
export const PROVISIONING_MS = 15 * MINUTE_MS;
/** docs/LEDGER.md: at most 5 payouts await confirmation per organisation. */
export const MAX_PENDING_PAYOUTS = 5;
/** The notice every offer of both specs gives (`terminationNoticeHours`), docs/LEASES.md. */
export const NOTICE_HOURS = 1;
/** docs/SLO.md: a period of a lease with an SLO settles SLO_DISPUTE_WINDOW_MINUTES (30) after its evidence closes. */
export const SLO_DISPUTE_MS = 30 * MINUTE_MS;

/** The commands both model-based specs generate (each asserts every one was executed). */
export const COMMAND_KINDS = [
  'topUp',
  'place',
  'cancel',
  'fill',
  'provision',
  'usage',
  'advance',
  'settle',
  'terminate',
  'payout',
  'decide',
  'extend',
] as const;

export type BillingMode = 'RESERVED' | 'PAY_PER_USE';
export type Side = 'BUYER' | 'PROVIDER';
/** How a provider ends an ACTIVE lease: at the notice, or now for a penalty. */
export type ProviderMode = 'NOTICE' | 'IMMEDIATE';
export type PayoutSource = 'BUYER_AVAILABLE' | 'PROVIDER_EARNINGS';

interface ModelBid {
  id: string;
  buyer: string;
  cap: bigint;
  gpus: number;
  filled: number;
  hours: number;
  mode: BillingMode;
  open: boolean;
}

export interface ModelPeriod {
  index: number;
  start: number;
  end: number;
  gpuSeconds: bigint;
  cost: bigint;
  fee: bigint;
}

export interface ModelLease {
  id: string;
  bidId: string;
  buyer: string;
  provider: string;
  gpus: number;
  price: bigint;
  hours: number;
  mode: BillingMode;
  feeBps: number;
  minPercent: number;
  createdAt: number;
  status: 'SCHEDULED' | 'ACTIVE' | 'ENDED' | 'TERMINATED';
  reason: 'BUYER_REQUEST' | 'PROVIDER_REQUEST' | 'PROVIDER_NOTICE' | 'PROVIDER_FAILURE' | 'RECLAIMED' | null;
  /** The provider gave notice: at its end the lease is TERMINATED(PROVIDER_NOTICE). */
  noticed: boolean;
  /**
   * An interruptible bid's lease on an offer with idle windows (docs/LEASES.md "Idle windows"):
   * the offer's reclaim notice, minutes; null when the lease is not reclaimable.
   */
  reclaimNoticeMinutes: number | null;
  /** The provider reclaimed it: at its end the lease is TERMINATED(RECLAIMED). */
  reclaimed: boolean;
  /** What the provider paid the buyer for ending it without notice. */
  penalty: bigint;
  /** How many times the buyer extended it (`hours` includes them). */
  extensions: number;
  startedAt: number | null;
  /** ACTIVE: the planned end; closed: when it ended. */
  endAt: number | null;
  reports: Map<number, bigint>;
  settled: ModelPeriod[];
  released: boolean;
  /** docs/SLO.md: the availability promised (basis points) and the credit share, or null. */
  slo: { availabilityBps: number; creditPercent: number } | null;
  /** Availability each side stated per period, "index:side" -> basis points. */
  evidence: Map<string, number>;
  /** What each settled period credited the buyer for a missed SLO. */
  credits: Map<number, bigint>;
}

interface ModelPayout {
  id: string;
  org: string;
  source: PayoutSource;
  amount: bigint;
  status: 'PENDING' | 'PAID' | 'REJECTED';
}

export type Outcome = 'ok' | 'refused';

export class MoneyModel {
  now: number;
  readonly bids = new Map<string, ModelBid>();
  readonly leases = new Map<string, ModelLease>();
  readonly payouts = new Map<string, ModelPayout>();
  private readonly accounts = new Map<string, bigint>();
  /** What buyers paid for periods, and where it went: the crash test's equation, kept by hand. */
  buyerDebits = 0n;
  providerCredits = 0n;
  /** SLO credits paid to buyers from providers' earnings. */
  sloCredits = 0n;

  constructor(start: number) {
    this.now = start;
  }

  balance(owner: string, kind: string): bigint {
    return this.accounts.get(`${owner}:${kind}`) ?? 0n;
  }

  private move(from: string, to: string, amount: bigint): void {
    if (amount < 0n) throw new Error(`model: negative move ${from} -> ${to}`);
    this.accounts.set(from, (this.accounts.get(from) ?? 0n) - amount);
    this.accounts.set(to, (this.accounts.get(to) ?? 0n) + amount);
  }

  /** Every account the model has touched, as "owner:kind" -> balance. */
  snapshot(): Map<string, bigint> {
    return new Map(this.accounts);
  }

  topUp(buyer: string, amount: bigint): Outcome {
    this.move('platform:EXTERNAL_FUNDING', `${buyer}:BUYER_AVAILABLE`, amount);
    return 'ok';
  }

  placeBid(bid: Omit<ModelBid, 'filled' | 'open'>): Outcome {
    const hold = bid.cap * BigInt(bid.gpus) * BigInt(bid.hours);
    if (this.balance(bid.buyer, 'BUYER_AVAILABLE') < hold) return 'refused';
    this.move(`${bid.buyer}:BUYER_AVAILABLE`, `${bid.buyer}:BUYER_HELD`, hold);
    this.bids.set(bid.id, { ...bid, filled: 0, open: true });
    return 'ok';
  }

  cancelBid(id: string): Outcome {
    const bid = this.bids.get(id);
    if (bid === undefined || !bid.open) return 'refused';
    bid.open = false;
    const rest = bid.cap * BigInt(bid.gpus - bid.filled) * BigInt(bid.hours);
    this.move(`${bid.buyer}:BUYER_HELD`, `${bid.buyer}:BUYER_AVAILABLE`, rest);
    return 'ok';
  }

  openBids(): ModelBid[] {
    return [...this.bids.values()].filter((b) => b.open);
  }

  /** A match: the lease holds its cost at the trade price, the rest of those GPUs' hold returns. */
  fill(lease: {
    id: string;
    bidId: string;
    provider: string;
    gpus: number;
    price: bigint;
    feeBps: number;
    minPercent: number;
    slo?: ModelLease['slo'];
    reclaimNoticeMinutes?: number | null;
  }): void {
    const bid = this.bids.get(lease.bidId);
    if (bid === undefined || !bid.open) throw new Error(`model: fill of a closed bid ${lease.bidId}`);
    if (lease.gpus < 1 || lease.gpus > bid.gpus - bid.filled) throw new Error('model: fill beyond the bid');
    if (lease.price > bid.cap || lease.price <= 0n) throw new Error('model: trade price above the cap');
    bid.filled += lease.gpus;
    if (bid.filled === bid.gpus) bid.open = false;
    const back = (bid.cap - lease.price) * BigInt(lease.gpus) * BigInt(bid.hours);
    this.move(`${bid.buyer}:BUYER_HELD`, `${bid.buyer}:BUYER_AVAILABLE`, back);
    this.leases.set(lease.id, {
      ...lease,
      buyer: bid.buyer,
      hours: bid.hours,
      mode: bid.mode,
      createdAt: this.now,
      status: 'SCHEDULED',
      reason: null,
      noticed: false,
      reclaimNoticeMinutes: lease.reclaimNoticeMinutes ?? null,
      reclaimed: false,
      penalty: 0n,
      extensions: 0,
      startedAt: null,
      endAt: null,
      reports: new Map(),
      settled: [],
      released: false,
      slo: lease.slo ?? null,
      evidence: new Map(),
      credits: new Map(),
    });
  }

  private holdOf(lease: ModelLease): bigint {
    return lease.price * BigInt(lease.gpus) * BigInt(lease.hours);
  }

  provision(id: string): Outcome {
    const lease = this.leases.get(id);
    if (lease?.status !== 'SCHEDULED' || this.now >= lease.createdAt + PROVISIONING_MS) return 'refused';
    lease.status = 'ACTIVE';
    lease.startedAt = this.now;
    lease.endAt = this.now + lease.hours * HOUR_MS;
    return 'ok';
  }

  /** A lease that never ran gives its whole hold back at once. */
  private closeUnstarted(lease: ModelLease, reason: NonNullable<ModelLease['reason']>): void {
    lease.status = 'TERMINATED';
    lease.reason = reason;
    lease.released = true;
    this.move(`${lease.buyer}:BUYER_HELD`, `${lease.buyer}:BUYER_AVAILABLE`, this.holdOf(lease));
  }

  terminate(id: string, side: Side, mode: ProviderMode = 'IMMEDIATE'): Outcome {
    const lease = this.leases.get(id);
    if (lease === undefined || lease.status === 'ENDED' || lease.status === 'TERMINATED') return 'refused';
    if (lease.status === 'SCHEDULED') {
      this.closeUnstarted(lease, side === 'BUYER' ? 'BUYER_REQUEST' : 'PROVIDER_REQUEST');
      return 'ok';
    }
    const startedAt = lease.startedAt!;
    if (side === 'PROVIDER' && mode === 'NOTICE') {
      // The end moves to now + notice, unless the lease ends before that anyway.
      const noticeEnd = this.now + NOTICE_HOURS * HOUR_MS;
      if (noticeEnd >= lease.endAt!) return 'refused';
      lease.endAt = noticeEnd;
      lease.noticed = true;
      return 'ok';
    }
    if (side === 'PROVIDER') {
      // The skipped notice, capped by the time left, at the trade price: earnings pay what they
      // hold, the receivable (below zero) the rest, and the buyer gets it all now.
      const skippedMs = Math.min(NOTICE_HOURS * HOUR_MS, lease.endAt! - this.now);
      const penalty = (lease.price * BigInt(lease.gpus) * BigInt(Math.floor(skippedMs / 1000))) / 3600n;
      lease.status = 'TERMINATED';
      lease.reason = 'PROVIDER_REQUEST';
      lease.endAt = this.now;
      lease.penalty = penalty;
      const earnings = this.balance(lease.provider, 'PROVIDER_EARNINGS');
      const paid = earnings < penalty ? earnings : penalty;
      this.move(`${lease.provider}:PROVIDER_EARNINGS`, `${lease.buyer}:BUYER_AVAILABLE`, paid);
      this.move(`${lease.provider}:PROVIDER_RECEIVABLE`, `${lease.buyer}:BUYER_AVAILABLE`, penalty - paid);
      return 'ok';
    }
    // The buyer stops at the end of the hour-long period it is in.
    let periodEnd = startedAt + HOUR_MS;
    while (periodEnd <= this.now) periodEnd += HOUR_MS;
    if (periodEnd >= lease.endAt!) return 'refused';
    lease.endAt = periodEnd;
    return 'ok';
  }

  /**
   * The provider reclaims a reclaimable ACTIVE lease (docs/LEASES.md "Idle windows"): it runs on
   * to now + the reclaim notice, then ends TERMINATED(RECLAIMED) with no penalty. Refused for a
   * lease that is not reclaimable, one not yet handed over (its window is open: the model's
   * leases start at once) and one that ends by then anyway.
   */
  reclaim(id: string): Outcome {
    const lease = this.leases.get(id);
    if (lease?.status !== 'ACTIVE' || lease.reclaimNoticeMinutes === null) return 'refused';
    const end = this.now + lease.reclaimNoticeMinutes * MINUTE_MS;
    if (end >= lease.endAt!) return 'refused';
    lease.endAt = end;
    lease.reclaimed = true;
    return 'ok';
  }

  /** Time passes: missed provisioning deadlines fail, leases at their end end. */
  advance(ms: number): void {
    this.now += ms;
    for (const lease of this.leases.values()) {
      if (lease.status === 'SCHEDULED' && lease.createdAt + PROVISIONING_MS <= this.now) {
        this.closeUnstarted(lease, 'PROVIDER_FAILURE');
      } else if (lease.status === 'ACTIVE' && lease.endAt! <= this.now) {
        lease.status = lease.noticed || lease.reclaimed ? 'TERMINATED' : 'ENDED';
        if (lease.reclaimed) lease.reason = 'RECLAIMED';
        else if (lease.noticed) lease.reason = 'PROVIDER_NOTICE';
      }
    }
  }

  /**
   * The buyer extends an ACTIVE lease by `hours` at its trade price (docs/LEASES.md "Extending a
   * lease"): refused unless it runs to its term (no notice given, no early end asked), its offer
   * still sells (`offerLive`) and available credit covers price x GPUs x hours, which moves to held.
   */
  extend(id: string, hours: number, offerLive = true): Outcome {
    const lease = this.leases.get(id);
    if (lease?.status !== 'ACTIVE' || lease.noticed || !offerLive) return 'refused';
    const term = lease.startedAt! + lease.hours * HOUR_MS;
    if (lease.endAt! <= this.now || lease.endAt !== term) return 'refused';
    const amount = lease.price * BigInt(lease.gpus) * BigInt(hours);
    if (this.balance(lease.buyer, 'BUYER_AVAILABLE') < amount) return 'refused';
    this.move(`${lease.buyer}:BUYER_AVAILABLE`, `${lease.buyer}:BUYER_HELD`, amount);
    lease.hours += hours;
    lease.endAt = term + hours * HOUR_MS;
    lease.extensions += 1;
    return 'ok';
  }

  /** The lease's periods: hours from its start, the last cut at its end. */
  periodsOf(lease: ModelLease): Array<{ index: number; start: number; end: number }> {
    const periods: Array<{ index: number; start: number; end: number }> = [];
    if (lease.startedAt === null || lease.endAt === null) return periods;
    for (let index = 0; lease.startedAt + index * HOUR_MS < lease.endAt; index += 1) {
      const start = lease.startedAt + index * HOUR_MS;
      periods.push({ index, start, end: Math.min(start + HOUR_MS, lease.endAt) });
    }
    return periods;
  }

  private dueAt(lease: ModelLease, period: { end: number }): number {
    // With an SLO: after the evidence window (the grace) and the provider's dispute window.
    if (lease.slo !== null) return period.end + GRACE_MS + SLO_DISPUTE_MS;
    return period.end + (lease.mode === 'PAY_PER_USE' ? GRACE_MS : 0);
  }

  /** One side's availability for an ended period of a lease with an SLO, once, within the grace. */
  evidence(id: string, periodIndex: number, side: Side, availabilityBps: number): Outcome {
    const lease = this.leases.get(id);
    if (lease === undefined || lease.slo === null) return 'refused';
    const period = this.periodsOf(lease)[periodIndex];
    if (period === undefined || period.end > this.now || this.now >= period.end + GRACE_MS) return 'refused';
    if (lease.settled.length > periodIndex || lease.evidence.has(`${periodIndex}:${side}`)) return 'refused';
    if (availabilityBps < 0 || availabilityBps > 10_000) return 'refused';
    lease.evidence.set(`${periodIndex}:${side}`, availabilityBps);
    return 'ok';
  }

  /**
   * docs/SLO.md: a period missed when the provider said nothing, or either side's availability is
   * below the SLO's; then the buyer gets creditPercent of the charge, at most the proceeds.
   */
  sloCredit(lease: ModelLease, charge: ModelPeriod): bigint {
    if (lease.slo === null) return 0n;
    const provider = lease.evidence.get(`${charge.index}:PROVIDER`);
    const buyer = lease.evidence.get(`${charge.index}:BUYER`);
    const target = lease.slo.availabilityBps;
    const missed = provider === undefined || provider < target || (buyer !== undefined && buyer < target);
    if (!missed) return 0n;
    const share = (charge.cost * BigInt(lease.slo.creditPercent)) / 100n;
    return share < charge.cost - charge.fee ? share : charge.cost - charge.fee;
  }

  report(id: string, periodIndex: number, gpuSeconds: bigint): Outcome {
    const lease = this.leases.get(id);
    if (lease?.mode !== 'PAY_PER_USE' || lease.reports.has(periodIndex)) return 'refused';
    const period = this.periodsOf(lease)[periodIndex];
    // Reports close with the grace, also on a lease with an SLO (whose periods settle later).
    if (period === undefined || period.end > this.now || this.now >= period.end + GRACE_MS) return 'refused';
    if (lease.settled.length > periodIndex) return 'refused';
    if (gpuSeconds < 0n || gpuSeconds > (BigInt(lease.gpus) * BigInt(period.end - period.start)) / 1000n) {
      return 'refused';
    }
    lease.reports.set(periodIndex, gpuSeconds);
    return 'ok';
  }

  /** The charge of one period, restated from docs/LEASES.md. */
  charge(lease: ModelLease, period: { index: number; start: number; end: number }): ModelPeriod {
    const seconds = (period.end - period.start) / 1000;
    const reserved = BigInt(lease.gpus) * BigInt(seconds);
    // The provider's own cut: the period its termination fell in pays elapsed usage, no minimum.
    // An end on a boundary falls in the next period (half-open), so no period is cut short.
    const cutByProvider =
      (lease.reason === 'PROVIDER_REQUEST' ||
        lease.reason === 'PROVIDER_NOTICE' ||
        lease.reason === 'RECLAIMED') &&
      period.end === lease.endAt &&
      period.end - period.start < HOUR_MS;
    let gpuSeconds = reserved;
    if (lease.mode === 'PAY_PER_USE') {
      const minimum = cutByProvider ? 0n : (reserved * BigInt(lease.minPercent)) / 100n;
      const reported = lease.reports.get(period.index);
      gpuSeconds = reported !== undefined && reported > minimum ? reported : minimum;
    }
    const cost = (lease.price * gpuSeconds) / 3600n;
    const fee = (cost * BigInt(lease.feeBps)) / 10_000n;
    return { ...period, gpuSeconds, cost, fee };
  }

  /** Settles every period due, in order, and releases a closed lease's rest; returns how many. */
  settleDue(only?: ReadonlySet<string>): number {
    let count = 0;
    for (const lease of this.leases.values()) {
      if (only !== undefined && !only.has(lease.id)) continue;
      if (lease.released || lease.startedAt === null) continue;
      const settledBefore = count;
      for (const period of this.periodsOf(lease).slice(lease.settled.length)) {
        if (this.dueAt(lease, period) > this.now) break;
        const charge = this.charge(lease, period);
        lease.settled.push(charge);
        this.move(
          `${lease.buyer}:BUYER_HELD`,
          `${lease.provider}:PROVIDER_EARNINGS`,
          charge.cost - charge.fee,
        );
        this.move(`${lease.buyer}:BUYER_HELD`, 'platform:PLATFORM_FEES', charge.fee);
        this.buyerDebits += charge.cost;
        this.providerCredits += charge.cost - charge.fee;
        if (lease.slo !== null) {
          const credit = this.sloCredit(lease, charge);
          lease.credits.set(charge.index, credit);
          this.move(`${lease.provider}:PROVIDER_EARNINGS`, `${lease.buyer}:BUYER_AVAILABLE`, credit);
          this.sloCredits += credit;
        }
        count += 1;
      }
      // Proceeds net what the provider owes, as far as its earnings go.
      const owed = -this.balance(lease.provider, 'PROVIDER_RECEIVABLE');
      if (count > settledBefore && owed > 0n) {
        const earnings = this.balance(lease.provider, 'PROVIDER_EARNINGS');
        const netted = owed < earnings ? owed : earnings;
        this.move(`${lease.provider}:PROVIDER_EARNINGS`, `${lease.provider}:PROVIDER_RECEIVABLE`, netted);
      }
      const closed = lease.status === 'ENDED' || lease.status === 'TERMINATED';
      if (closed && lease.settled.length === this.periodsOf(lease).length) {
        const paid = lease.settled.reduce((sum, p) => sum + p.cost, 0n);
        this.move(`${lease.buyer}:BUYER_HELD`, `${lease.buyer}:BUYER_AVAILABLE`, this.holdOf(lease) - paid);
        lease.released = true;
      }
    }
    return count;
  }

  requestPayout(payout: { id: string; org: string; source: PayoutSource; amount: bigint }): Outcome {
    const pending = [...this.payouts.values()].filter((p) => p.org === payout.org && p.status === 'PENDING');
    if (pending.length >= MAX_PENDING_PAYOUTS) return 'refused';
    if (payout.amount <= 0n || this.balance(payout.org, payout.source) < payout.amount) return 'refused';
    // A provider that owes a penalty is paid nothing until proceeds have netted it.
    if (payout.source === 'PROVIDER_EARNINGS' && this.balance(payout.org, 'PROVIDER_RECEIVABLE') < 0n) {
      return 'refused';
    }
    this.move(`${payout.org}:${payout.source}`, 'platform:PAYOUT_CLEARING', payout.amount);
    this.payouts.set(payout.id, { ...payout, status: 'PENDING' });
    return 'ok';
  }

  decidePayout(id: string, confirm: boolean): Outcome {
    const payout = this.payouts.get(id);
    if (payout?.status !== 'PENDING') return 'refused';
    payout.status = confirm ? 'PAID' : 'REJECTED';
    if (confirm) this.move('platform:PAYOUT_CLEARING', 'platform:EXTERNAL_FUNDING', payout.amount);
    else this.move('platform:PAYOUT_CLEARING', `${payout.org}:${payout.source}`, payout.amount);
    return 'ok';
  }

  /** The ledger's invariants (DESIGN 4 and 5), restated over the model's own state. */
  violations(): string[] {
    const found: string[] = [];
    let total = 0n;
    for (const [account, amount] of this.accounts) {
      total += amount;
      if (account.endsWith(':PROVIDER_RECEIVABLE')) {
        if (amount > 0n) found.push(`${account} is ${amount}, above zero`);
      } else if (!account.startsWith('platform:') && amount < 0n) found.push(`${account} is ${amount}`);
    }
    if (total !== 0n) found.push(`accounts sum to ${total}`);
    const buyers = new Set([...this.bids.values()].map((b) => b.buyer));
    for (const buyer of buyers) {
      let expected = 0n;
      for (const bid of this.bids.values()) {
        if (bid.buyer === buyer && bid.open)
          expected += bid.cap * BigInt(bid.gpus - bid.filled) * BigInt(bid.hours);
      }
      for (const lease of this.leases.values()) {
        if (lease.buyer !== buyer || lease.released) continue;
        expected += this.holdOf(lease) - lease.settled.reduce((sum, p) => sum + p.cost, 0n);
      }
      const held = this.balance(buyer, 'BUYER_HELD');
      if (held !== expected) found.push(`${buyer} held ${held}, open bids + leases ${expected}`);
    }
    for (const lease of this.leases.values()) {
      const indexes = lease.settled.map((p) => p.index);
      if (indexes.some((index, i) => index !== i))
        found.push(`${lease.id} settled periods ${indexes.join(',')}`);
      const paid = lease.settled.reduce((sum, p) => sum + p.cost, 0n);
      if (paid > this.holdOf(lease)) found.push(`${lease.id} paid ${paid} above its hold`);
      // An SLO lease has one outcome per settled period; a credit is never above that period's proceeds.
      if (lease.slo !== null && lease.credits.size !== lease.settled.length)
        found.push(`${lease.id} has ${lease.credits.size} SLO outcomes for ${lease.settled.length} periods`);
      for (const period of lease.settled) {
        const credit = lease.credits.get(period.index) ?? 0n;
        if (credit < 0n || credit > period.cost - period.fee)
          found.push(`${lease.id} period ${period.index} credit ${credit} outside 0..proceeds`);
      }
    }
    if (this.buyerDebits !== this.providerCredits + this.balance('platform', 'PLATFORM_FEES')) {
      found.push(`buyer debits ${this.buyerDebits} <> provider credits + fees`);
    }
    return found;
  }
}
