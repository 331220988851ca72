import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { parse } from 'csv-parse/sync';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { LeaseLifecycleService } from '@/modules/leases/lease-lifecycle.service';
import { createTestAdmin, type TestAdmin } from '../support/admin-cli';
import { startExchangeOnClock } from '../support/http-app';
import {
  clockOf,
  expectLedgerSound,
  HOUR,
  ledgerBalance,
  leaseOfBid,
  MINUTE,
  quiet,
  settleDue,
} from '../support/leases';
import { signIn, tradingPair, type TestTenant } from '../support/tenants';
import { waitFor } from '../support/wait-for';
import { closeExchange, createInferenceMarket, startLease } from './lease-fixtures';
import { createSite, placeOffer } from './marketplace-fixtures';

const GRACE_MINUTES = 90;
const MODEL = 'qwen2.5-7b-instruct';

type Body = Record<string, unknown>;
const body = (res: { body: unknown }): Body => res.body as Body;

/**
 * Per-token billing over HTTP (docs/INFERENCE.md "Per-token billing"), API and worker in one
 * process on the controllable clock: a quote states the take-or-pay minimum, an inference bid
 * becomes a lease that carries it, the provider reports tokens per period, one period is
 * disputed and waits for an admin, the buyer's invoice and the provider's earnings show tokens,
 * price per million, GPU-seconds and ask line by line (JSON and CSV), and the provider is paid
 * out. Bad counts and late ones are refused and write nothing. A per-token lease under an SLO that
 * misses is credited at most the provider's payout less the fee (docs/SLO.md "The credit"), never
 * the spread. Ledger invariants after each test.
 *
 * The book: one offer of 2 GPUs at 30.00 with a 30% pay-per-use floor, serving Qwen2.5 7B at
 * 3,000 prompt and 1,000 output tokens/s per GPU. Demand 1,000 + 1,000 tokens/s sizes into
 * 1/3 + 1 = 1.33 -> 2 GPUs; it trades at 30.00, so 30.00 x 2 x 1,000,000 / 7,200,000 = 8.33 per
 * million. An hour's capacity is 7,200,000 tokens, its take-or-pay minimum (50%) 3,600,000 = 29.98.
 */
describe('per-token billing: quote, lease, token reports, dispute, invoice, earnings and payout', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let provider: TestTenant;
  let buyer: TestTenant;
  let market: { id: string; slug: string };
  let adminUser: TestAdmin;
  const ids: string[] = [];
  const otherMarkets: string[] = [];
  const http = () => request(app.getHttpServer());
  const clock = () => clockOf(app);
  const at = (ms: number) => new Date(clock().now().getTime() + ms).toISOString();
  const signInAdmin = () => adminUser.signIn();
  const state = (tenant: TestTenant, leaseId: string, counts: Body) =>
    http().post(`/v1/leases/${leaseId}/tokens`).set(tenant.auth).send(counts);
  const earningsOf = () => ledgerBalance(app, provider.organisationId, 'PROVIDER_EARNINGS');
  // The provider's earnings over the last day, to an hour ahead of the clock.
  const earnings = async (groupBy: string) => {
    const range = `from=${encodeURIComponent(at(-24 * HOUR))}&to=${encodeURIComponent(at(HOUR))}`;
    return body(await http().get(`/v1/billing/earnings?${groupBy}&${range}`).set(provider.auth).expect(200));
  };

  /** The book of the header, in `marketSlug`: a site, its offer (with `extra`) and the serving profile. */
  async function offerServing(marketSlug: string, extra: Body = {}): Promise<void> {
    const site = await createSite(app, provider, { provinceCode: '520000', cityCode: '520100' });
    const offer = await placeOffer(app, provider, site.id, {
      market: marketSlug,
      gpus: 2,
      pricePerGpuHour: '30.00',
      minLeaseHours: 1,
      payPerUseMinPercent: 30,
      availableFrom: at(-HOUR),
      availableUntil: at(30 * 24 * HOUR),
      ...extra,
    });
    await http()
      .put(`/v1/offers/${offer.id}/serving-profiles`)
      .set(provider.auth)
      .send({
        profiles: [
          {
            model: MODEL,
            concurrency: 8,
            promptTokensPerSecondPerGpu: 3000,
            outputTokensPerSecondPerGpu: 1000,
            ttftP50Ms: 60,
            ttftP95Ms: 100,
          },
        ],
      })
      .expect(200);
  }

  /** The header's demand: 1,000 output tokens/s at a 1:1 prompt ratio, at most 14.00 per million. */
  const inferenceTerms = (marketSlug: string, durationHours: number) => ({
    market: marketSlug,
    durationHours,
    partialAllowed: false,
    inference: {
      model: MODEL,
      outputTokensPerSecond: 1000,
      promptToOutputRatio: 1,
      ttftP95Ms: 300,
      maxPricePerMillionTokens: '14.00',
    },
  });

  const placeInferenceBid = async (terms: Body): Promise<Body> =>
    body(
      await http()
        .post('/v1/bids')
        .set(buyer.auth)
        .set('idempotency-key', randomUUID())
        .send({ ...terms, expiresAt: at(24 * HOUR) })
        .expect(201),
    );

  /** The buyer's invoice of a lease, and its lines. */
  async function invoiceOf(leaseId: string): Promise<{ invoice: Body; full: Body }> {
    const invoices = body(await http().get('/v1/invoices').set(buyer.auth).expect(200)).data as Body[];
    const invoice = invoices.find((i) => i.leaseId === leaseId)!;
    const full = body(
      await http()
        .get(`/v1/invoices/${invoice.id as string}`)
        .set(buyer.auth)
        .expect(200),
    );
    return { invoice, full };
  }

  beforeAll(async () => {
    app = await startExchangeOnClock({ SETTLEMENT_GRACE_MINUTES: String(GRACE_MINUTES) });
    prisma = app.get(PrismaService);
    market = await createInferenceMarket(app);
    ({ provider, buyer } = await tradingPair(app, ids));
    adminUser = await createTestAdmin(app, 'tokbill');
  });

  afterEach(() => expectLedgerSound(app, ids));

  afterAll(() =>
    closeExchange(app, { organisations: ids, markets: [market.id, ...otherMarkets], admin: adminUser }),
  );

  it('bills a disputed inference lease per token, invoices it line by line and pays the provider per GPU-hour', async () => {
    await offerServing(market.slug);
    const terms = inferenceTerms(market.slug, 3);

    // The quote states the take-or-pay minimum at the cap and at the expected price.
    const quote = body(await http().post('/v1/bids/quote').set(buyer.auth).send(terms).expect(200));
    expect(quote.inference).toMatchObject({
      gpus: 2,
      expectedPricePerMillionTokens: '8.33',
      takeOrPay: {
        percent: 50,
        minimumTokensPerHour: '3600000',
        minimumChargePerHourAtCap: '50.40',
        expectedMinimumChargePerHour: '29.98',
      },
    });
    const bid = await placeInferenceBid(terms);
    expect(bid.inference).toMatchObject({ takeOrPayPercent: 50, minimumTokensPerHour: '3600000' });
    const leaseRow = await leaseOfBid(app, bid.id as string);
    const leaseId = leaseRow.id;
    const answer = body(await http().get(`/v1/leases/${leaseId}`).set(buyer.auth).expect(200));
    expect(answer.billingBasis).toBe('PER_TOKEN');
    expect(answer.inference).toMatchObject({
      model: MODEL,
      pricePerMillionTokens: '8.33',
      outputTokensPerSecond: 1000,
      promptTokensPerSecond: 1000,
      billing: 'PER_TOKEN',
      takeOrPayPercent: 50,
      minimumTokensPerHour: '3600000',
      minimumChargePerHour: '29.98',
    });
    expect(leaseRow).toMatchObject({
      pricePerGpuHour: 3_000n,
      gpus: 2,
      inferenceTakeOrPayPercent: 50,
      billingBasis: 'PER_TOKEN',
    });

    const start = new Date(await startLease(app, provider, leaseId));
    const period = (i: number) => new Date(start.getTime() + i * HOUR).toISOString();

    // Period 0: 5,000,000 tokens served and agreed.
    await clock().advance(HOUR + MINUTE);
    const served0 = { periodStart: period(0), promptTokens: 3_000_000, outputTokens: 2_000_000 };
    await state(provider, leaseId, served0).expect(200);
    await state(buyer, leaseId, served0).expect(200);
    // Bad counts: 400, nothing written.
    const before = await prisma.tokenUsage.count({ where: { leaseId } });
    for (const counts of [
      { promptTokens: -1, outputTokens: 0 },
      { promptTokens: 'NaN', outputTokens: 0 },
      { promptTokens: 1.5, outputTokens: 0 },
      { promptTokens: 2 ** 53, outputTokens: 0 },
    ]) {
      await state(provider, leaseId, { periodStart: period(0), ...counts }).expect(400);
    }
    await http()
      .post(`/v1/leases/${leaseId}/tokens`)
      .set(provider.auth)
      .set('content-type', 'application/json')
      .send(`{"periodStart":"${period(0)}","promptTokens":1e400,"outputTokens":0}`)
      .expect(400);
    expect(await prisma.tokenUsage.count({ where: { leaseId } })).toBe(before);

    // Period 1: the colluding pair's case, nothing reported used; the buyer states nothing.
    await clock().advance(HOUR);
    await state(provider, leaseId, { periodStart: period(1), promptTokens: 0, outputTokens: 0 }).expect(200);

    // Period 2: the two sides disagree; the lease ends at its term.
    await clock().advance(HOUR);
    expect(await app.get(LeaseLifecycleService).sweep()).toMatchObject({ ended: 1 });
    await state(provider, leaseId, {
      periodStart: period(2),
      promptTokens: 4_000_000,
      outputTokens: 2_000_000,
    }).expect(200);
    const disputed = body(
      await state(buyer, leaseId, {
        periodStart: period(2),
        promptTokens: 3_000_000,
        outputTokens: 1_000_000,
      }).expect(200),
    );
    const disputeId = (disputed.dispute as Body).id as string;

    // Every grace is over: periods 0 and 1 settle, 2 waits for the decision, and a late count is refused.
    await clock().advance(GRACE_MINUTES * MINUTE + MINUTE);
    await settleDue(app, leaseId);
    expect((await prisma.leasePeriod.findMany({ where: { leaseId } })).map((p) => p.index).sort()).toEqual([
      0, 1,
    ]);
    const late = await state(buyer, leaseId, {
      periodStart: period(1),
      promptTokens: 0,
      outputTokens: 0,
    }).expect(409);
    expect(body(late).details).toMatchObject({ reason: 'GRACE_OVER' });
    expect(await prisma.tokenUsage.count({ where: { leaseId, periodIndex: 1 } })).toBe(1);
    expect(await prisma.invoice.count({ where: { leaseId } })).toBe(0);

    const admin = await signInAdmin();
    const decided = { promptTokens: 3_500_000, outputTokens: 1_500_000 };
    await http()
      .post(`/admin/disputes/${disputeId}/resolve`)
      .set(admin)
      .send({ note: 'gateway logs reconciled', usage: decided })
      .expect(200);
    await waitFor('the decided period to settle and the invoice to issue', async () =>
      (await prisma.invoice.count({ where: { leaseId } })) === 1 ? true : undefined,
    );
    // Repeats charge nothing twice.
    await settleDue(app, leaseId);
    const periods = await prisma.leasePeriod.findMany({ where: { leaseId }, orderBy: { index: 'asc' } });
    expect(
      periods.map((p) => [
        p.index,
        p.basis,
        p.billedTokens,
        p.cost,
        p.payout,
        p.payoutBasis,
        p.spread,
        p.fee,
      ]),
    ).toEqual([
      // 5,000,000 x 8.33 = 41.65; 5,000 GPU-seconds at 30.00 = 41.66, capped at 41.65; fee 2.5%
      [0, 'TOKENS', 5_000_000n, 4_165n, 4_165n, 'CAPPED', 0n, 104n],
      // Nothing used: the buyer pays the minimum, 29.98; the provider its 30% floor, 18.00
      [1, 'TAKE_OR_PAY', 3_600_000n, 2_998n, 1_800n, 'FLOOR', 1_198n, 45n],
      // The admin's counts stand: 5,000,000 tokens
      [2, 'TOKENS', 5_000_000n, 4_165n, 4_165n, 'CAPPED', 0n, 104n],
    ]);
    expect(await prisma.ledgerTransfer.count({ where: { key: { startsWith: `settle:${leaseId}:` } } })).toBe(
      3,
    );
    // The colluding pair's period: the provider nets less than the buyer paid.
    expect(periods[1]!.cost - periods[1]!.spread - periods[1]!.fee).toBeLessThan(periods[1]!.cost);

    // The invoice: one line per period with tokens, price per million, GPU-seconds and the ask.
    const { invoice, full } = await invoiceOf(leaseId);
    expect(invoice.gross).toBe('113.28');
    expect(full.lines).toEqual([
      {
        period: 0,
        startsAt: period(0),
        endsAt: period(1),
        gpuSeconds: '7200',
        basis: 'TOKENS',
        unitPrice: '30.00',
        amount: '41.65',
        promptTokens: '3000000',
        outputTokens: '2000000',
        billedTokens: '5000000',
        pricePerMillionTokens: '8.33',
        // No SLO on this lease (docs/SLO.md).
        sloCredit: '0.00',
      },
      expect.objectContaining({
        period: 1,
        basis: 'TAKE_OR_PAY',
        amount: '29.98',
        promptTokens: '0',
        billedTokens: '3600000',
        pricePerMillionTokens: '8.33',
      }),
      expect.objectContaining({
        period: 2,
        amount: '41.65',
        promptTokens: '3500000',
        outputTokens: '1500000',
      }),
    ]);
    const csv = await http()
      .get(`/v1/invoices/${invoice.id as string}?format=csv`)
      .set(buyer.auth)
      .expect(200);
    const lines = parse<Record<string, string>>(csv.text, { columns: true });
    expect(
      lines.map((l) => [
        l.period,
        l.gpuSeconds,
        l.unitPrice,
        l.billedTokens,
        l.pricePerMillionTokens,
        l.amount,
      ]),
    ).toEqual([
      ['0', '7200', '30.00', '5000000', '8.33', '41.65'],
      ['1', '7200', '30.00', '3600000', '8.33', '29.98'],
      ['2', '7200', '30.00', '5000000', '8.33', '41.65'],
    ]);

    // The provider's earnings, one line per period: paid per GPU-second at its ask, capped by the charge.
    const range = `from=${encodeURIComponent(at(-24 * HOUR))}&to=${encodeURIComponent(at(HOUR))}`;
    expect((await earnings('groupBy=period')).groups).toEqual([
      expect.objectContaining({
        key: `${leaseId}:00000`,
        leaseId,
        period: 0,
        gpuSeconds: '5000',
        pricePerGpuHour: '30.00',
        promptTokens: '3000000',
        outputTokens: '2000000',
        billedTokens: '5000000',
        pricePerMillionTokens: '8.33',
        charged: '41.65',
        spread: '0.00',
        proceeds: '41.65',
        fee: '1.04',
        net: '40.61',
      }),
      expect.objectContaining({
        period: 1,
        gpuSeconds: '2160',
        charged: '29.98',
        spread: '11.98',
        proceeds: '18.00',
        fee: '0.45',
        net: '17.55',
      }),
      expect.objectContaining({ period: 2, charged: '41.65', net: '40.61' }),
    ]);
    expect((await earnings('groupBy=lease')).groups).toEqual([
      expect.objectContaining({
        key: leaseId,
        periods: 3,
        billedTokens: '13600000',
        pricePerMillionTokens: '8.33',
        pricePerGpuHour: '30.00',
        charged: '113.28',
        spread: '11.98',
        proceeds: '101.30',
        fee: '2.53',
        net: '98.77',
      }),
    ]);
    const earningsCsv = await http()
      .get(`/v1/billing/earnings?groupBy=period&format=csv&${range}`)
      .set(provider.auth)
      .expect(200);
    const rows = parse<Record<string, string>>(earningsCsv.text, { columns: true });
    expect(
      rows.map((r) => [
        r.period,
        r.billedTokens,
        r.pricePerMillionTokens,
        r.gpuSeconds,
        r.pricePerGpuHour,
        r.net,
      ]),
    ).toEqual([
      ['0', '5000000', '8.33', '5000', '30.00', '40.61'],
      ['1', '3600000', '8.33', '2160', '30.00', '17.55'],
      ['2', '5000000', '8.33', '5000', '30.00', '40.61'],
    ]);

    // The buyer got the rest of its hold back: 3 x 2 x 30.00 - 113.28 = 66.72 of 180.00.
    const balance = body(await http().get('/v1/billing/balance').set(buyer.auth).expect(200));
    expect(balance.balances).toEqual([expect.objectContaining({ available: '9886.72', held: '0.00' })]);

    // The provider is paid out its earnings.
    const owner = (await signIn(app, provider)).auth;
    await http()
      .put('/v1/bank-account')
      .set(owner)
      .send({ beneficiary: 'GZ DC Ltd', bankName: 'Bank of Guiyang', accountNumber: '6222021001015555' })
      .expect(200);
    const payout = body(
      await http()
        .post('/v1/payouts')
        .set(owner)
        .set('idempotency-key', randomUUID())
        .send({ amount: '98.77' })
        .expect(201),
    );
    await http()
      .post(`/admin/payouts/${payout.id as string}/confirm`)
      .set(await signInAdmin())
      .send({ bankReference: 'BOC-TOKBILL-1' })
      .expect(200);
    const earned = body(await http().get('/v1/billing/balance').set(provider.auth).expect(200));
    expect(earned.balances).toEqual([expect.objectContaining({ earnings: '0.00' })]);

    // The platform kept the spread in its own account.
    const trial = body(
      await http()
        .get('/admin/billing/trial-balance')
        .set(await signInAdmin())
        .expect(200),
    );
    const spread = (trial.accounts as Body[]).find(
      (r) => r.kind === 'PLATFORM_SPREAD' && r.currency === 'CNY',
    );
    expect(spread).toMatchObject({ accounts: 1 });
    expect(Number(spread!.balance)).toBeGreaterThanOrEqual(11.98);
    expect(trial.totals).toEqual(expect.arrayContaining([{ currency: 'CNY', balance: '0.00' }]));
  });

  it("pays the provider at its own ask when the bid rested first and traded at the bid's maximum", async () => {
    // A market of its own, so the bid meets only this offer. Asking 60.00, above the bid's 50.40
    // a GPU-hour (14.00 per million for 2 GPUs): the bid rests when it arrives.
    const own = await createInferenceMarket(app);
    otherMarkets.push(own.id);
    await offerServing(own.slug, { pricePerGpuHour: '60.00' });
    const bid = await placeInferenceBid(inferenceTerms(own.slug, 1));
    await quiet(app);
    expect(await prisma.lease.count({ where: { bidId: bid.id as string } })).toBe(0);
    // The provider lowers its ask to 24.00: a new seq, so the bid is the resting order and the
    // trade price is its maximum, 50.40 (docs/MATCHING.md "Priority and trade price").
    const offer = await prisma.offer.findFirstOrThrow({ where: { marketId: own.id } });
    await http()
      .patch(`/v1/offers/${offer.id}`)
      .set(provider.auth)
      .send({ pricePerGpuHour: '24.00' })
      .expect(200);
    const leaseRow = await leaseOfBid(app, bid.id as string);
    const leaseId = leaseRow.id;
    expect(leaseRow).toMatchObject({
      pricePerGpuHour: 5_040n,
      providerAskPerGpuHour: 2_400n,
      inferencePricePerMillionTokens: 1_400n,
    });
    const start = await startLease(app, provider, leaseId);

    // 5,000,000 tokens: the buyer pays 70.00 at 14.00 per million; the provider's 5,000
    // GPU-seconds at its 24.00 ask are 33.33 (at the 50.40 trade price they would be 70.00).
    await clock().advance(HOUR + MINUTE);
    expect(await app.get(LeaseLifecycleService).sweep()).toMatchObject({ ended: 1 });
    await state(provider, leaseId, {
      periodStart: start,
      promptTokens: 3_000_000,
      outputTokens: 2_000_000,
    }).expect(200);
    await clock().advance(GRACE_MINUTES * MINUTE + 30 * MINUTE + MINUTE);
    await settleDue(app, leaseId);
    const [settled] = await prisma.leasePeriod.findMany({ where: { leaseId } });
    expect(settled).toMatchObject({
      cost: 7_000n,
      gpuSeconds: 5_000n,
      payout: 3_333n,
      payoutBasis: 'USED',
      fee: 83n,
      spread: 3_667n,
    });
    const transfer = await prisma.ledgerTransfer.findUniqueOrThrow({
      where: { key: `settle:${leaseId}:0` },
      include: { entries: { include: { account: true } } },
    });
    expect(
      transfer.entries
        .map((e) => [e.account.kind, e.amount])
        .sort((x, y) => String(x[0]).localeCompare(String(y[0]))),
    ).toEqual([
      ['BUYER_HELD', -7_000n],
      ['PLATFORM_FEES', 83n],
      ['PLATFORM_SPREAD', 3_667n],
      ['PROVIDER_EARNINGS', 3_250n],
    ]);
    const byPeriod = await earnings('groupBy=period');
    expect((byPeriod.groups as Body[]).find((g) => g.leaseId === leaseId)).toMatchObject({
      pricePerGpuHour: '24.00',
      pricePerMillionTokens: '14.00',
      charged: '70.00',
      spread: '36.67',
      proceeds: '33.33',
      fee: '0.83',
      net: '32.50',
    });
  });

  it("takes the bid's own take-or-pay share: validated, quoted, stored on the lease and charged", async () => {
    const own = await createInferenceMarket(app);
    otherMarkets.push(own.id);
    await offerServing(own.slug, { payPerUseMinPercent: 10 });
    const base = inferenceTerms(own.slug, 1);
    const terms = (takeOrPayPercent: unknown) => ({
      ...base,
      inference: { ...base.inference, takeOrPayPercent },
    });

    // Whole percent, 0..100: anything else is 400 on the quote and the placement, and writes nothing.
    for (const bad of [-1, 101, 12.5, '20']) {
      const quoted = await http().post('/v1/bids/quote').set(buyer.auth).send(terms(bad)).expect(400);
      expect(JSON.stringify(quoted.body)).toContain('takeOrPayPercent');
      await http()
        .post('/v1/bids')
        .set(buyer.auth)
        .set('idempotency-key', randomUUID())
        .send({ ...terms(bad), expiresAt: at(24 * HOUR) })
        .expect(400);
    }
    expect(await prisma.bid.count({ where: { marketId: own.id } })).toBe(0);

    // 20% of 7,200,000 tokens an hour: 1,440,000, 20.16 at the 14.00 cap, 11.99 at 8.33.
    const quote = body(await http().post('/v1/bids/quote').set(buyer.auth).send(terms(20)).expect(200));
    expect((quote.inference as Body).takeOrPay).toEqual({
      percent: 20,
      minimumTokensPerHour: '1440000',
      minimumChargePerHourAtCap: '20.16',
      expectedMinimumChargePerHour: '11.99',
    });
    const bid = await placeInferenceBid(terms(20));
    expect(bid.inference).toMatchObject({ takeOrPayPercent: 20, minimumTokensPerHour: '1440000' });
    const leaseRow = await leaseOfBid(app, bid.id as string);
    const leaseId = leaseRow.id;
    expect(leaseRow).toMatchObject({ inferenceTakeOrPayPercent: 20 });
    const lease = body(await http().get(`/v1/leases/${leaseId}`).set(buyer.auth).expect(200));
    expect(lease.inference).toMatchObject({
      takeOrPayPercent: 20,
      minimumTokensPerHour: '1440000',
      minimumChargePerHour: '11.99',
    });
    const start = await startLease(app, provider, leaseId);

    // A low-usage hour (100,000 tokens) is charged the bid's 20%, not the default 50% (29.98); the
    // provider gets its 10% floor, 720 GPU-seconds at 30.00.
    await clock().advance(HOUR + MINUTE);
    expect(await app.get(LeaseLifecycleService).sweep()).toMatchObject({ ended: 1 });
    await state(provider, leaseId, { periodStart: start, promptTokens: 50_000, outputTokens: 50_000 }).expect(
      200,
    );
    await clock().advance(GRACE_MINUTES * MINUTE + 30 * MINUTE + MINUTE);
    await settleDue(app, leaseId);
    const [settled] = await prisma.leasePeriod.findMany({ where: { leaseId } });
    expect(settled).toMatchObject({
      basis: 'TAKE_OR_PAY',
      billedTokens: 1_440_000n,
      cost: 1_199n,
      gpuSeconds: 720n,
      payoutBasis: 'FLOOR',
      payout: 600n,
      spread: 599n,
      fee: 15n,
    });
  });

  it("takes only offers whose pay-per-use floor the bid's take-or-pay share meets: the quote names TAKE_OR_PAY", async () => {
    // Two offers of 2 GPUs in a market of their own: 30.00 with a 30% floor, 32.00 with a 20% one.
    // The payout is capped by the buyer's charge, so a share below an offer's floor could pay its
    // provider less than that floor (docs/INFERENCE.md "Per-token billing"): rule 4 rules it out.
    const own = await createInferenceMarket(app);
    otherMarkets.push(own.id);
    await offerServing(own.slug);
    await offerServing(own.slug, { pricePerGpuHour: '32.00', payPerUseMinPercent: 20 });
    const [floored, lower] = await prisma.offer.findMany({
      where: { marketId: own.id },
      orderBy: { pricePerGpuHour: 'asc' },
    });
    const base = inferenceTerms(own.slug, 1);
    const terms = (takeOrPayPercent: number) => ({
      ...base,
      inference: { ...base.inference, takeOrPayPercent },
    });

    // At 20% the cheaper offer's 30% floor excludes it; the 32.00 one, whose 20% floor it meets, fills.
    const quote = body(await http().post('/v1/bids/quote').set(buyer.auth).send(terms(20)).expect(200));
    expect(quote).toMatchObject({
      fillableGpus: 2,
      vwap: '32.00',
      excluded: [{ constraint: 'TAKE_OR_PAY', gpus: 2 }],
      cheapestExcluded: { price: '30.00', province: '520000' },
    });
    // At 30% both are eligible and the cheaper one fills: nothing is excluded.
    const met = body(await http().post('/v1/bids/quote').set(buyer.auth).send(terms(30)).expect(200));
    expect(met).toMatchObject({ fillableGpus: 2, vwap: '30.00', excluded: [] });

    // Placed, the 20% bid does not match the cheaper offer but the one with the lower floor.
    const bid = await placeInferenceBid(terms(20));
    const leaseRow = await leaseOfBid(app, bid.id as string);
    expect(leaseRow).toMatchObject({
      offerId: lower!.id,
      payPerUseMinPercent: 20,
      inferenceTakeOrPayPercent: 20,
      pricePerGpuHour: 3_200n,
    });
    await quiet(app);
    expect(await prisma.lease.count({ where: { offerId: floored!.id } })).toBe(0);
    expect(await prisma.offer.findUniqueOrThrow({ where: { id: floored!.id } })).toMatchObject({
      leasedGpus: 0,
      status: 'OPEN',
    });
  });

  it("credits a missed SLO on a per-token period at most the provider's payout less the fee, never the spread", async () => {
    // A market of its own, so the bid meets only this offer and its SLO (docs/SLO.md).
    const own = await createInferenceMarket(app);
    otherMarkets.push(own.id);
    await offerServing(own.slug, { slo: { availabilityPercent: 99, creditPercent: 100 } });
    const bid = await placeInferenceBid(inferenceTerms(own.slug, 1));
    const leaseRow = await leaseOfBid(app, bid.id as string);
    const leaseId = leaseRow.id;
    expect(leaseRow).toMatchObject({ inferenceTakeOrPayPercent: 50 });
    expect(leaseRow.slo).not.toBeNull();
    const start = await startLease(app, provider, leaseId);

    // Nothing used and no SLO evidence from the provider: the period is missed (a silent provider).
    await clock().advance(HOUR + MINUTE);
    expect(await app.get(LeaseLifecycleService).sweep()).toMatchObject({ ended: 1 });
    await state(provider, leaseId, { periodStart: start, promptTokens: 0, outputTokens: 0 }).expect(200);
    const earningsBefore = await earningsOf();

    // After the report grace and the SLO dispute window (30 minutes by default) it settles.
    await clock().advance(GRACE_MINUTES * MINUTE + 30 * MINUTE + MINUTE);
    await settleDue(app, leaseId);
    const [settled] = await prisma.leasePeriod.findMany({ where: { leaseId } });
    // Charge 29.98 (take-or-pay), payout 18.00 (the 30% floor at the ask), fee 0.45, spread 11.98.
    expect(settled).toMatchObject({ cost: 2_998n, payout: 1_800n, fee: 45n, spread: 1_198n });
    // 100% of the charge would be 29.98 and charge - fee 29.53; the provider earned 17.55.
    const outcome = await prisma.sloPeriodOutcome.findUniqueOrThrow({
      where: { leaseId_periodIndex: { leaseId, periodIndex: 0 } },
    });
    expect(outcome).toMatchObject({ outcome: 'MISSED', credit: 1_755n });
    expect((await earningsOf()) - earningsBefore).toBe(0n);

    await waitFor('the invoice', async () =>
      (await prisma.invoice.count({ where: { leaseId } })) === 1 ? true : undefined,
    );
    const { full } = await invoiceOf(leaseId);
    expect(full.lines).toEqual([
      expect.objectContaining({ basis: 'TAKE_OR_PAY', amount: '29.98', sloCredit: '17.55' }),
    ]);
    expect(((await earnings('groupBy=lease')).groups as Body[]).find((g) => g.key === leaseId)).toMatchObject(
      {
        charged: '29.98',
        spread: '11.98',
        proceeds: '18.00',
        fee: '0.45',
        net: '17.55',
        sloCredits: '17.55',
        netAfterCredits: '0.00',
      },
    );
  });
  it('fixes the billing basis at match: PER_TOKEN exactly with the per-token terms, never changed', async () => {
    const own = await createInferenceMarket(app);
    otherMarkets.push(own.id);
    await offerServing(own.slug);
    const bid = await placeInferenceBid(inferenceTerms(own.slug, 1));
    const leaseRow = await leaseOfBid(app, bid.id as string);
    expect(leaseRow).toMatchObject({ billingBasis: 'PER_TOKEN', inferenceTakeOrPayPercent: 50 });
    const id = leaseRow.id;

    // Immutable after insert, and consistent with the take-or-pay share (docs/INFERENCE.md "Billing basis").
    await expect(
      prisma.$executeRaw`UPDATE leases SET billing_basis = 'GPU_HOURS' WHERE id = ${id}::uuid`,
    ).rejects.toThrow(/billing basis is fixed at match/);
    await expect(
      prisma.$executeRaw`UPDATE leases SET inference_take_or_pay_percent = NULL WHERE id = ${id}::uuid`,
    ).rejects.toThrow(/PER_TOKEN lease carries the per-token terms/);

    // A copy of the lease at another epoch: GPU_HOURS with the per-token terms is refused; an
    // inference lease without a take-or-pay share (matched before per-token billing) is GPU_HOURS.
    // Rolled back, so nothing else sees the copies.
    const copy = (basis: string, takeOrPay: string): Promise<number> =>
      prisma.$executeRawUnsafe(
        `INSERT INTO leases SELECT (jsonb_populate_record(l, jsonb_build_object(
           'id', gen_random_uuid(), 'match_epoch', l.match_epoch + 1000000,
           'billing_basis', '${basis}', 'inference_take_or_pay_percent', ${takeOrPay},
           'provider_ask_per_gpu_hour', CASE WHEN ${takeOrPay} IS NULL THEN NULL ELSE l.provider_ask_per_gpu_hour END))).*
         FROM leases l WHERE l.id = $1::uuid`,
        id,
      );
    await expect(copy('GPU_HOURS', '50')).rejects.toThrow(/PER_TOKEN lease carries the per-token terms/);
    await expect(copy('PER_TOKEN', 'NULL')).rejects.toThrow(/PER_TOKEN lease carries the per-token terms/);
    const rollback = new Error('rollback');
    await expect(
      prisma.$transaction(async (tx) => {
        expect(
          await tx.$executeRawUnsafe(
            `INSERT INTO leases SELECT (jsonb_populate_record(l, jsonb_build_object(
               'id', gen_random_uuid(), 'match_epoch', l.match_epoch + 1000000, 'billing_basis', 'GPU_HOURS',
               'inference_take_or_pay_percent', NULL, 'provider_ask_per_gpu_hour', NULL))).*
             FROM leases l WHERE l.id = $1::uuid`,
            id,
          ),
        ).toBe(1);
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    expect(await prisma.lease.count({ where: { bidId: bid.id as string } })).toBe(1);
  });
});
