import { TransactionHost } from '@nestjs-cls/transactional';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { parse } from 'csv-parse/sync';
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { Clock } from '@/infra/clock/clock';
import type { ControllableClock } from '@/infra/clock/controllable-clock';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { formatMoney } from '@/shared/money';
import { SettlementService } from '@/modules/billing/settlement/settlement.service';
import { StatementsRepository } from '@/modules/billing/statements/statements.repository';
import { LeaseLifecycleService } from '@/modules/leases/lease-lifecycle.service';
import { createAdminWithCli } from '../support/admin-cli';
import { startHttpApp } from '../support/http-app';
import { ledgerViolations } from '../support/ledger-invariants';
import { registerOrganisation, signIn, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { handOverAccess, leaseBetween, quiet } from './lease-fixtures';
import { createSite, removeMarketplaceData, withoutRequestId } from './marketplace-fixtures';

// Fee 300 bps (migration 20261128000000_init).
const MARKET = 'nvidia-a800-80gb';
const FEES_MARKET = 'huawei-ascend-910b-64gb';
const HOUR = 3_600_000;
const MINUTE = 60_000;
// A prefix of this run's own, so its invoice numbers start at 000001 whatever ran before.
const PREFIX = `T${Array.from(randomBytes(5), (b) => String.fromCharCode(65 + (b % 26))).join('')}`;

type Json = Record<string, unknown>;
type Invoice = Json & { id: string; number: string; leaseId: string; gross: string; lines?: Json[] };

/** The next instant after `now` at hh:mm UTC. */
function nextUtc(now: Date, hours: number, minutes: number): Date {
  const at = new Date(now);
  at.setUTCHours(hours, minutes, 0, 0);
  if (at.getTime() <= now.getTime()) at.setUTCDate(at.getUTCDate() + 1);
  return at;
}

const day = (at: Date): string => at.toISOString().slice(0, 10);
/** Minor units of CNY as the API writes them. */
const money = (minor: bigint): string => formatMoney(minor, 2);
/** A CNY amount the API wrote, back in minor units. */
const minor = (amount: string): bigint => BigInt(amount.replace('.', ''));

/** Parses a CSV body into objects keyed by its header row (every value a string). */
const csvRows = (text: string): Array<Record<string, string>> =>
  parse<Record<string, string>>(text, { columns: true, skip_empty_lines: true });

/** A JSON row as the CSV writes it: nulls as empty cells, numbers as their digits. */
const asCsv = (row: Json): Record<string, string> =>
  Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v as string)]),
  );

/**
 * Statements (docs/STATEMENTS.md): invoices issued once per lease when its settlement
 * completes, numbered without gaps even when leases complete at once, VAT split out of the
 * VAT-inclusive charge (6% here), providers' earnings by lease, site and day across a Shanghai
 * midnight, CSV exports that parse back to the JSON, tenant isolation. Controllable clock.
 */
describe('statements: invoices, earnings and CSV', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let provider: TestTenant;
  let buyer: TestTenant;
  let otherBuyer: TestTenant;
  let site: { id: string; name: string };
  let buyerOwner: { authorization: string };
  let leaseA: { id: string };
  let periodOneSettledAt: Date;
  const ids: string[] = [];
  const http = () => request(app.getHttpServer());
  const clock = () => app.get<Clock, ControllableClock>(Clock);
  const settle = (leaseId: string) => app.get(SettlementService).settleLease(leaseId);
  const body = <T = Json>(res: { body: unknown }): T => res.body as T;

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
        MATCHING_SWEEP_INTERVAL_MS: '3600000',
        LEASE_SWEEP_INTERVAL_MS: '3600000',
        SETTLEMENT_SWEEP_INTERVAL_MS: '3600000',
        CLOCK: 'controllable',
        INVOICE_NUMBER_PREFIX: PREFIX,
        INVOICE_VAT_BPS: '600',
        INVOICE_SELLER_NAME: 'Compute Exchange (Guizhou) Co., Ltd.',
        INVOICE_SELLER_TAX_ID: '91520900MA6EXAMPLE',
      }),
      { api: true, worker: true },
    );
    prisma = app.get(PrismaService);
    provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
    buyer = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor: 1_000_000n });
    otherBuyer = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor: 1_000n });
    ids.push(provider.organisationId, buyer.organisationId, otherBuyer.organisationId);
    site = await createSite(app, provider, { provinceCode: '520000', cityCode: '520100' });
    buyerOwner = (await signIn(app, buyer)).auth;
  });

  afterEach(async () => {
    await quiet(app);
    expect(await ledgerViolations(prisma, ids)).toEqual([]);
  });

  afterAll(async () => {
    await quiet(app);
    // Invoices are final (triggers) and stay, like the ledger; profiles and this run's counter go.
    await prisma.billingProfile.deleteMany({ where: { organisationId: { in: ids } } });
    await prisma.invoiceCounter.deleteMany({ where: { issuer: PREFIX } });
    await removeMarketplaceData(app, ids);
    await app.close();
  });

  it('keeps a billing profile for owners, validated', async () => {
    await http().get('/v1/billing/profile').set(buyer.auth).expect(404);
    const profile = {
      legalName: 'Hangzhou Inference Tech Co., Ltd.',
      taxId: '91330106MA2B0XXXX1',
      address: '88 Wensan Road, Xihu District, Hangzhou 310000',
      countryCode: 'CN',
      email: 'Finance@HZ-Inference.example',
    };
    // API keys and members do not change billing details; bad fields are 400.
    await http().put('/v1/billing/profile').set(buyer.auth).send(profile).expect(403);
    await http()
      .put('/v1/billing/profile')
      .set(buyerOwner)
      .send({ ...profile, taxId: 'not a tax id' })
      .expect(400);
    await http()
      .put('/v1/billing/profile')
      .set(buyerOwner)
      .send({ ...profile, countryCode: 'China' })
      .expect(400);
    await http()
      .put('/v1/billing/profile')
      .set(buyerOwner)
      .send({ ...profile, extra: 1 })
      .expect(400);
    const saved = await http().put('/v1/billing/profile').set(buyerOwner).send(profile).expect(200);
    expect(saved.body).toMatchObject({ ...profile, email: 'finance@hz-inference.example' });
    expect((await http().get('/v1/billing/profile').set(buyer.auth).expect(200)).body).toEqual(saved.body);
  });

  it('issues one invoice when a lease completes, totals equal to what the buyer was charged', async () => {
    // 14:40 UTC is 22:40 in Shanghai: period 0 settles at 15:40 UTC (23:40 Shanghai, day D), period 1 at
    // 16:40 UTC (00:40 Shanghai, day D + 1), both on UTC day D.
    const start = nextUtc(clock().now(), 14, 40);
    await clock().set(start);
    leaseA = await leaseBetween(
      app,
      { provider, buyer, siteId: site.id },
      { market: MARKET, gpus: 2, price: '10.00', durationHours: 2, billingMode: 'RESERVED' },
    );
    await handOverAccess(app, provider, leaseA.id).expect(200);
    await clock().advance(HOUR);
    expect(await settle(leaseA.id)).toBe(1);
    // Not complete yet: no invoice.
    expect(
      body<{ data: Invoice[] }>(await http().get('/v1/invoices').set(buyer.auth).expect(200)).data,
    ).toEqual([]);
    await clock().advance(HOUR);
    expect(await app.get(LeaseLifecycleService).sweep()).toMatchObject({ ended: 1 });
    periodOneSettledAt = clock().now();
    expect(await settle(leaseA.id)).toBe(1);
    // A second settle job after completion issues nothing more.
    expect(await settle(leaseA.id)).toBe(0);
    expect(await prisma.invoice.count({ where: { leaseId: leaseA.id } })).toBe(1);

    const list = body<{ data: Invoice[]; nextCursor: null }>(
      await http().get('/v1/invoices').set(buyer.auth).expect(200),
    );
    expect(list.data).toHaveLength(1);
    const shanghaiDay = day(new Date(start.getTime() + 2 * HOUR + 8 * HOUR));
    // 2 periods x 2 GPUs x 1 h x 10.00 = 40.00, VAT-inclusive: 6% of it is 4000 x 600 / 10600 = 226.4 -> 2.26.
    const invoice = body<Invoice>(
      await http().get(`/v1/invoices/${list.data[0]!.id}`).set(buyer.auth).expect(200),
    );
    expect(invoice).toEqual({
      id: list.data[0]!.id,
      number: `${PREFIX}-${shanghaiDay.slice(0, 4)}-000001`,
      leaseId: leaseA.id,
      market: MARKET,
      currency: 'CNY',
      seller: {
        name: 'Compute Exchange (Guizhou) Co., Ltd.',
        taxId: '91520900MA6EXAMPLE',
        address: expect.any(String) as string,
      },
      buyer: {
        name: 'Hangzhou Inference Tech Co., Ltd.',
        taxId: '91330106MA2B0XXXX1',
        address: '88 Wensan Road, Xihu District, Hangzhou 310000',
        countryCode: 'CN',
      },
      net: '37.74',
      vatRateBps: 600,
      vat: '2.26',
      gross: '40.00',
      sloCredits: '0.00',
      penaltyCredit: '0.00',
      issueDate: shanghaiDay,
      timeZone: 'Asia/Shanghai',
      issuedAt: periodOneSettledAt.toISOString(),
      supplyFrom: start.toISOString(),
      supplyTo: new Date(start.getTime() + 2 * HOUR).toISOString(),
      lines: [0, 1].map((period) => ({
        period,
        startsAt: new Date(start.getTime() + period * HOUR).toISOString(),
        endsAt: new Date(start.getTime() + (period + 1) * HOUR).toISOString(),
        gpuSeconds: '7200',
        basis: 'RESERVED',
        unitPrice: '10.00',
        amount: '20.00',
        // Token fields are for per-token lines only (docs/STATEMENTS.md).
        promptTokens: null,
        outputTokens: null,
        billedTokens: null,
        pricePerMillionTokens: null,
        // No SLO on these leases (docs/SLO.md).
        sloCredit: '0.00',
      })),
    });
    const { lines: _lines, ...header } = invoice;
    expect(list.data[0]).toEqual(header);

    // What the buyer's held credit paid for the lease's periods is the invoice's gross.
    const entries = body<{ data: Array<{ leaseId: string; kind: string; account: string; amount: string }> }>(
      await http().get('/v1/billing/entries?limit=100').set(buyer.auth).expect(200),
    ).data.filter((e) => e.leaseId === leaseA.id && e.kind === 'SETTLEMENT');
    expect(entries.map((e) => [e.account, e.amount])).toEqual([
      ['BUYER_HELD', '-20.00'],
      ['BUYER_HELD', '-20.00'],
    ]);

    // Issued invoices are final, in the database too.
    await expect(
      prisma.$executeRawUnsafe(`UPDATE invoices SET gross = 1 WHERE id = $1::uuid`, invoice.id),
    ).rejects.toThrow(/an issued invoice is final/);
    await expect(
      prisma.$executeRawUnsafe(`DELETE FROM invoice_lines WHERE invoice_id = $1::uuid`, invoice.id),
    ).rejects.toThrow(/an issued invoice is final/);
  });

  it('numbers invoices consecutively when two leases complete at once, on the profile then in force', async () => {
    // The clock moved past the first sign-in's access token: sign in again.
    buyerOwner = (await signIn(app, buyer)).auth;
    await http()
      .put('/v1/billing/profile')
      .set(buyerOwner)
      .send({ legalName: 'Hangzhou Inference Group', address: 'Hangzhou', countryCode: 'CN' })
      .expect(200);
    const terms = {
      market: MARKET,
      gpus: 1,
      price: '7.77',
      durationHours: 1,
      billingMode: 'RESERVED',
    } as const;
    const first = await leaseBetween(app, { provider, buyer, siteId: site.id }, terms);
    const second = await leaseBetween(app, { provider, buyer, siteId: site.id }, terms);
    await handOverAccess(app, provider, first.id).expect(200);
    await handOverAccess(app, provider, second.id).expect(200);
    await clock().advance(HOUR);
    expect(await app.get(LeaseLifecycleService).sweep()).toMatchObject({ ended: 2 });
    expect(await Promise.all([settle(first.id), settle(second.id)])).toEqual([1, 1]);

    const invoices = body<{ data: Invoice[] }>(
      await http().get('/v1/invoices').set(buyer.auth).expect(200),
    ).data;
    expect(invoices).toHaveLength(3);
    const year = invoices[0]!.number.split('-')[1]!;
    expect(invoices.map((i) => i.number).sort()).toEqual([1, 2, 3].map((n) => `${PREFIX}-${year}-00000${n}`));
    const fresh = invoices.filter((i) => i.leaseId !== leaseA.id);
    expect(fresh.map((i) => i.leaseId).sort()).toEqual([first.id, second.id].sort());
    // 7.77 VAT-inclusive at 6%: 777 x 600 / 10600 = 43.98 -> 0.44, net 7.33.
    for (const i of fresh) {
      expect(i).toMatchObject({
        gross: '7.77',
        vat: '0.44',
        net: '7.33',
        buyer: { name: 'Hangzhou Inference Group', taxId: null, address: 'Hangzhou', countryCode: 'CN' },
      });
    }
    // The profile change did not touch the invoice issued before it.
    const old = invoices.find((i) => i.leaseId === leaseA.id)!;
    expect(old.buyer).toMatchObject({ name: 'Hangzhou Inference Tech Co., Ltd.' });

    // Filters on the issue instant, and pages.
    const after = new Date(periodOneSettledAt.getTime() + MINUTE).toISOString();
    const filtered = body<{ data: Invoice[] }>(
      await http().get('/v1/invoices').query({ from: after }).set(buyer.auth).expect(200),
    ).data;
    expect(filtered.map((i) => i.leaseId).sort()).toEqual([first.id, second.id].sort());
    await http().get('/v1/invoices').query({ from: after, to: after }).set(buyer.auth).expect(400);
    await http().get('/v1/invoices').query({ from: '2026-12-01' }).set(buyer.auth).expect(400);
    const page1 = body<{ data: Invoice[]; nextCursor: string }>(
      await http().get('/v1/invoices?limit=2').set(buyer.auth).expect(200),
    );
    const page2 = body<{ data: Invoice[]; nextCursor: null }>(
      await http()
        .get('/v1/invoices')
        .query({ limit: 2, cursor: page1.nextCursor })
        .set(buyer.auth)
        .expect(200),
    );
    expect([...page1.data, ...page2.data].map((i) => i.id)).toEqual(invoices.map((i) => i.id));
    expect(page2.nextCursor).toBeNull();
  });

  it('sums a provider’s earnings per lease, site and day, days cut in Shanghai unless told otherwise', async () => {
    const from = new Date(periodOneSettledAt.getTime() - 3 * HOUR).toISOString();
    const to = new Date(periodOneSettledAt.getTime() + 1 * MINUTE).toISOString();
    const earnings = async (query: Json) =>
      body<{ groups: Json[]; timeZone: string }>(
        await http()
          .get('/v1/billing/earnings')
          .query({ from, to, ...query })
          .set(provider.auth)
          .expect(200),
      );
    // Lease A's periods: 20.00 each, fee 3% = 0.60, net 19.40; settled at 23:40 and 00:40 Shanghai.
    const utcDay = day(periodOneSettledAt);
    const shanghaiDay = day(new Date(periodOneSettledAt.getTime() + 8 * HOUR));
    // A group as the API writes it: the sums of its periods, in CNY.
    const group = (
      key: string,
      [periods, gpuSeconds]: [number, number],
      [proceeds, fee, net]: [string, string, string],
      place: Json = {},
      // The ask when the group has one price (lease A trades at 10.00), else null.
      pricePerGpuHour: string | null = '10.00',
    ) => ({
      key,
      leaseId: null,
      period: null,
      siteId: null,
      siteName: null,
      market: null,
      currency: 'CNY',
      periods,
      gpuSeconds: String(gpuSeconds),
      pricePerGpuHour,
      // GPU leases: no tokens, nothing kept as spread, charged = proceeds.
      promptTokens: '0',
      outputTokens: '0',
      billedTokens: '0',
      pricePerMillionTokens: null,
      charged: proceeds,
      spread: '0.00',
      proceeds,
      fee,
      net,
      // No SLO on these leases, so no credits (docs/SLO.md).
      sloCredits: '0.00',
      netAfterCredits: net,
      ...place,
    });
    const shanghai = await earnings({ groupBy: 'day' });
    expect(shanghai.timeZone).toBe('Asia/Shanghai');
    expect(shanghai.groups).toEqual([
      group(utcDay, [1, 7200], ['20.00', '0.60', '19.40']),
      group(shanghaiDay, [1, 7200], ['20.00', '0.60', '19.40']),
    ]);
    expect((await earnings({ groupBy: 'day', tz: 'UTC' })).groups).toEqual([
      group(utcDay, [2, 14_400], ['40.00', '1.20', '38.80']),
    ]);
    const place = { siteId: site.id, siteName: site.name };
    expect((await earnings({ groupBy: 'lease' })).groups).toEqual([
      group(leaseA.id, [2, 14_400], ['40.00', '1.20', '38.80'], {
        ...place,
        market: MARKET,
        leaseId: leaseA.id,
      }),
    ]);
    // All three leases on the one site: 40.00 + 2 x 7.77 = 55.54; fees 1.20 + 2 x floor(777 x 3%) = 1.20 + 0.46;
    // GPU-seconds 2 x 7,200 + 2 x 3,600.
    const all = await http()
      .get('/v1/billing/earnings')
      .query({ groupBy: 'site', to: new Date(clock().now().getTime() + MINUTE).toISOString() })
      .set(provider.auth)
      .expect(200);
    expect(body<{ groups: Json[] }>(all).groups).toEqual([
      group(site.id, [4, 21_600], ['55.54', '1.66', '53.88'], place, null),
    ]);

    const bad = await http()
      .get('/v1/billing/earnings')
      .query({ groupBy: 'day', tz: 'Mars/Olympus' })
      .set(provider.auth)
      .expect(400);
    expect(bad.body).toMatchObject({ code: 'INVALID_TIME_ZONE' });
    await http().get('/v1/billing/earnings').query({ groupBy: 'week' }).set(provider.auth).expect(400);
    await http()
      .get('/v1/billing/earnings')
      .query({ groupBy: 'day', from: '2025-01-01T00:00:00Z', to: '2026-06-01T00:00:00Z' })
      .set(provider.auth)
      .expect(400);
  });

  it('shows the platform its fees per market and day, and a trial balance that reconciles', async () => {
    const email = `admin-${randomUUID()}@statements.test`;
    expect((await createAdminWithCli(email, 'statements admin passphrase')).code).toBe(0);
    let admin = (await signIn(app, { email, password: 'statements admin passphrase' })).auth;
    const from = new Date(periodOneSettledAt.getTime() - 3 * HOUR);
    const to = new Date(periodOneSettledAt.getTime() + MINUTE);
    const fees = async (query: Json) =>
      body<{ groups: Array<Json & { key: string }> }>(
        await http()
          .get('/admin/billing/fees')
          .query({ from: from.toISOString(), to: to.toISOString(), ...query })
          .set(admin)
          .expect(200),
      ).groups;
    // Every provider's periods settled in the range, summed straight from the settlement rows.
    const expected = await prisma.$queryRaw<Array<{ market: string; cost: bigint; fee: bigint }>>`
      SELECT m.slug AS market, SUM(p.cost)::bigint AS cost, SUM(p.fee)::bigint AS fee
      FROM lease_periods p JOIN leases l ON l.id = p.lease_id JOIN markets m ON m.id = l.market_id
      WHERE p.settled_at >= ${from} AND p.settled_at < ${to}
      GROUP BY m.slug ORDER BY m.slug`;
    const byMarket = await fees({ groupBy: 'market' });
    expect(byMarket.map((g) => [g.key, g.proceeds, g.fee])).toEqual(
      expected.map((row) => [row.market, money(row.cost), money(row.fee)]),
    );
    // Lease A's two periods (40.00, fees 1.20) are among them.
    const a800 = byMarket.find((g) => g.key === MARKET)!;
    expect(Number(a800.fee)).toBeGreaterThanOrEqual(1.2);
    expect((await fees({ groupBy: 'day', tz: 'UTC' })).map((g) => g.key)).toContain(day(periodOneSettledAt));
    await http().get('/admin/billing/fees').query({ groupBy: 'lease' }).set(admin).expect(400);
    for (const who of [provider.auth, buyer.auth]) {
      await http().get('/admin/billing/fees').query({ groupBy: 'market' }).set(who).expect(403);
      await http().get('/admin/billing/trial-balance').set(who).expect(403);
    }

    const trialBalance = async () =>
      body<{
        accounts: Array<{ kind: string; currency: string; balance: string }>;
        totals: Array<{ currency: string; balance: string }>;
      }>(await http().get('/admin/billing/trial-balance').set(admin).expect(200));
    const feeAccount = async () =>
      minor(
        (await trialBalance()).accounts.find((a) => a.kind === 'PLATFORM_FEES' && a.currency === 'CNY')!
          .balance,
      );
    const before = await feeAccount();
    // A lease of its own, in a market this suite leaves alone: 2 GPUs x 1 h at 10.00 = 20.00,
    // of which the platform's fee is floor(2,000 x bps / 10,000) fen.
    const seller = await registerOrganisation(app, 'PROVIDER', { verified: true });
    const payer = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor: 100_000n });
    ids.push(seller.organisationId, payer.organisationId);
    const hall = await createSite(app, seller, { provinceCode: '520000', cityCode: '520100' });
    const lease = await leaseBetween(
      app,
      { provider: seller, buyer: payer, siteId: hall.id },
      { market: FEES_MARKET, gpus: 2, price: '10.00', durationHours: 1, billingMode: 'RESERVED' },
    );
    await handOverAccess(app, seller, lease.id).expect(200);
    await clock().advance(HOUR);
    await app.get(LeaseLifecycleService).sweep();
    expect(await settle(lease.id)).toBe(1);
    // Access tokens run on the same clock: sign in again after moving it.
    admin = (await signIn(app, { email, password: 'statements admin passphrase' })).auth;
    const { feeBps } = await prisma.market.findUniqueOrThrow({ where: { slug: FEES_MARKET } });
    expect((await feeAccount()) - before).toBe((2_000n * BigInt(feeBps)) / 10_000n);
    // However many suites wrote to this database, every currency's accounts add up to zero.
    expect((await trialBalance()).totals).toEqual([{ currency: 'CNY', balance: '0.00' }]);
  });

  it('exports every statement as CSV that parses back to the JSON', async () => {
    const csv = async (path: string, auth: { authorization: string }, query: Json = {}) => {
      const res = await http()
        .get(path)
        .query({ ...query, format: 'csv' })
        .set(auth)
        .expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      expect(res.headers['content-disposition']).toMatch(/^attachment; filename="[^"]+\.csv"$/);
      return { rows: csvRows(res.text), headers: res.headers };
    };
    const json = async <T>(path: string, auth: { authorization: string }, query: Json = {}) =>
      body<T>(await http().get(path).query(query).set(auth).expect(200));

    const invoices = await json<{ data: Invoice[] }>('/v1/invoices', buyer.auth);
    expect((await csv('/v1/invoices', buyer.auth)).rows).toEqual(
      invoices.data.map(({ seller, buyer: party, ...rest }) =>
        asCsv({
          id: rest.id,
          number: rest.number,
          leaseId: rest.leaseId,
          market: rest.market,
          currency: rest.currency,
          issueDate: rest.issueDate,
          issuedAt: rest.issuedAt,
          supplyFrom: rest.supplyFrom,
          supplyTo: rest.supplyTo,
          sellerName: (seller as Json).name,
          sellerTaxId: (seller as Json).taxId,
          buyerName: (party as Json).name,
          buyerTaxId: (party as Json).taxId,
          buyerAddress: (party as Json).address,
          buyerCountryCode: (party as Json).countryCode,
          net: rest.net,
          vatRateBps: rest.vatRateBps,
          vat: rest.vat,
          gross: rest.gross,
          sloCredits: rest.sloCredits,
          penaltyCredit: rest.penaltyCredit,
        }),
      ),
    );
    const paged = await csv('/v1/invoices', buyer.auth, { limit: 1 });
    expect(paged.rows).toHaveLength(1);
    expect(paged.headers['x-next-cursor']).toEqual(expect.any(String));

    const one = await json<Invoice>(`/v1/invoices/${invoices.data[0]!.id}`, buyer.auth);
    expect((await csv(`/v1/invoices/${one.id}`, buyer.auth)).rows).toEqual(one.lines!.map(asCsv));

    const entries = await json<{ data: Json[] }>('/v1/billing/entries', buyer.auth, { limit: 50 });
    expect(entries.data.length).toBeGreaterThan(5);
    expect((await csv('/v1/billing/entries', buyer.auth, { limit: 50 })).rows).toEqual(
      entries.data.map(asCsv),
    );

    const balance = await json<{ balances: Json[] }>('/v1/billing/balance', provider.auth);
    expect((await csv('/v1/billing/balance', provider.auth)).rows).toEqual(
      balance.balances.map((b) =>
        asCsv({
          currency: b.currency,
          available: b.available,
          held: b.held,
          earnings: b.earnings,
          owed: b.owed,
        }),
      ),
    );

    const query = { groupBy: 'lease', to: new Date(clock().now().getTime() + MINUTE).toISOString() };
    const earnings = await json<{ groups: Json[]; adjustments: Json[] }>(
      '/v1/billing/earnings',
      provider.auth,
      query,
    );
    expect(earnings.groups).toHaveLength(3);
    // No penalty or recovery here (provider-commitments.e2e has both): every row is a group.
    expect(earnings.adjustments).toEqual([]);
    expect((await csv('/v1/billing/earnings', provider.auth, query)).rows).toEqual(
      earnings.groups.map((group) =>
        asCsv({ ...group, row: 'PERIODS', at: null, penalty: null, earningsChange: null, owedChange: null }),
      ),
    );
    await http().get('/v1/invoices?format=xml').set(buyer.auth).expect(400);
  });

  it('issues nothing for a lease that charged nothing, and a rolled-back issue leaves no gap', async () => {
    const lease = await leaseBetween(
      app,
      { provider, buyer, siteId: site.id },
      { market: MARKET, gpus: 1, price: '5.00', durationHours: 1, billingMode: 'PAY_PER_USE' },
    );
    await handOverAccess(app, provider, lease.id).expect(200);
    await clock().advance(10 * MINUTE);
    // Cut by its provider with no usage reported: the period settles at 0.00 after its grace.
    await http()
      .post(`/v1/leases/${lease.id}/terminate`)
      .set(provider.auth)
      .send({ mode: 'IMMEDIATE' })
      .expect(200);
    await clock().advance(16 * MINUTE);
    expect(await settle(lease.id)).toBe(1);
    expect(await prisma.lease.findUniqueOrThrow({ where: { id: lease.id } })).toMatchObject({
      settlementState: 'COMPLETE',
    });
    expect(await prisma.invoice.count({ where: { leaseId: lease.id } })).toBe(0);

    // A number taken by a transaction that rolls back is taken again by the next one.
    const txHost = app.get(TransactionHost);
    const statements = app.get(StatementsRepository);
    await expect(
      txHost.withTransaction(async () => {
        expect(await statements.systemNextInvoiceSequence(PREFIX, 2099)).toBe(1);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect(await txHost.withTransaction(() => statements.systemNextInvoiceSequence(PREFIX, 2099))).toBe(1);
    expect(await txHost.withTransaction(() => statements.systemNextInvoiceSequence(PREFIX, 2099))).toBe(2);
  });

  it('shows invoices to their buyer only and earnings to providers only', async () => {
    const [invoice] = body<{ data: Invoice[] }>(
      await http().get('/v1/invoices').set(buyer.auth).expect(200),
    ).data;
    const theirs = await http().get(`/v1/invoices/${invoice!.id}`).set(otherBuyer.auth).expect(404);
    const missing = await http().get(`/v1/invoices/${randomUUID()}`).set(otherBuyer.auth).expect(404);
    const malformed = await http().get('/v1/invoices/not-an-id').set(otherBuyer.auth).expect(404);
    expect(withoutRequestId(theirs.body)).toEqual(withoutRequestId(missing.body));
    expect(withoutRequestId(malformed.body)).toEqual(withoutRequestId(missing.body));
    expect(
      body<{ data: Invoice[] }>(await http().get('/v1/invoices').set(otherBuyer.auth).expect(200)).data,
    ).toEqual([]);
    await http().get(`/v1/invoices/${invoice!.id}?format=csv`).set(otherBuyer.auth).expect(404);
    await http().get('/v1/billing/earnings?groupBy=lease').set(buyer.auth).expect(403);
    await http().get('/v1/invoices').set(provider.auth).expect(403);
  });
});
