import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Clock } from '@/infra/clock/clock';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { createTestAdmin, type TestAdmin } from '../support/admin-cli';
import { startExchangeOnClock } from '../support/http-app';
import { clockOf, expectLedgerSound, HOUR, leaseOfBid, quiet } from '../support/leases';
import { registerOrganisation, tradingPair, type TestTenant } from '../support/tenants';
import {
  createSite,
  createTestMarket,
  placeOffer,
  removeMarketplaceData,
  removeTestMarket,
} from './marketplace-fixtures';

// The suites that move leases import it from here too.
export { quiet };

export interface LeaseTerms {
  market: string;
  gpus: number;
  price: string;
  durationHours: number;
  billingMode: 'RESERVED' | 'PAY_PER_USE';
  payPerUseMinPercent?: number;
  /** The offer's notice for an early end by its provider (the exchange's default when absent). */
  terminationNoticeHours?: number;
  /** The offer's SLO as placed (docs/SLO.md); none when absent. */
  slo?: Record<string, unknown>;
  /** Withdraw the offer once leased, so that no later bid fills from it when its GPUs return. */
  withdrawOffer?: boolean;
}

/**
 * An offer and a bid that cross exactly; resolves once the worker has made the lease. Their
 * windows are read from the exchange's clock, so a test that moved it still gets a lease.
 */
export async function leaseBetween(
  app: NestFastifyApplication,
  parties: { provider: TestTenant; buyer: TestTenant; siteId: string },
  terms: LeaseTerms,
): Promise<{ id: string; offerId: string; bidId: string }> {
  const now = app.get(Clock).now().getTime();
  const at = (hours: number): string => new Date(now + hours * HOUR).toISOString();
  const offer = await placeOffer(app, parties.provider, parties.siteId, {
    market: terms.market,
    gpus: terms.gpus,
    pricePerGpuHour: terms.price,
    minLeaseHours: 1,
    payPerUseMinPercent: terms.payPerUseMinPercent ?? 30,
    ...(terms.terminationNoticeHours === undefined
      ? {}
      : { terminationNoticeHours: terms.terminationNoticeHours }),
    ...(terms.slo === undefined ? {} : { slo: terms.slo }),
    availableFrom: at(-1),
    availableUntil: at(24 * 30),
  });
  const bid = await request(app.getHttpServer())
    .post('/v1/bids')
    .set(parties.buyer.auth)
    .set('idempotency-key', randomUUID())
    .send({
      market: terms.market,
      gpus: terms.gpus,
      maxPricePerGpuHour: terms.price,
      durationHours: terms.durationHours,
      provinces: [],
      minGpusPerSite: 1,
      partialAllowed: false,
      billingMode: terms.billingMode,
      expiresAt: at(24),
    })
    .expect(201);
  const bidId = (bid.body as { id: string }).id;
  const lease = await leaseOfBid(app, bidId);
  if (terms.withdrawOffer === true) {
    await request(app.getHttpServer())
      .post(`/v1/offers/${offer.id}/cancel`)
      .set(parties.provider.auth)
      .expect(200);
  }
  return { id: lease.id, offerId: offer.id, bidId };
}

/** The provider's handover of access, with throwaway credentials. */
export function handOverAccess(
  app: NestFastifyApplication,
  provider: TestTenant,
  leaseId: string,
): request.Test {
  return request(app.getHttpServer())
    .post(`/v1/leases/${leaseId}/access`)
    .set(provider.auth)
    .send({
      endpoint: 'https://inference.gz-dc.example/v1',
      credentials: [{ name: 'api_key', value: 'sk-live-very-secret' }],
      instructions: 'qwen2.5-72b preloaded',
    });
}

/** Starts a lease by the provider's handover of access; its start, as the answer states it. */
export async function startLease(
  app: NestFastifyApplication,
  provider: TestTenant,
  leaseId: string,
): Promise<string> {
  const res = await handOverAccess(app, provider, leaseId).expect(200);
  return (res.body as { startedAt: string }).startedAt;
}

/** A verified provider with a site in Guiyang; its organisation id is added to `ids`. */
export async function providerWithSite(
  app: NestFastifyApplication,
  ids: string[],
): Promise<{ tenant: TestTenant; siteId: string }> {
  const tenant = await registerOrganisation(app, 'PROVIDER', { verified: true });
  ids.push(tenant.organisationId);
  const site = await createSite(app, tenant, { provinceCode: '520000', cityCode: '520100' });
  return { tenant, siteId: site.id };
}

/** A market of the suite's own with H100 figures, so that reference profiles exist for it. */
export async function createInferenceMarket(
  app: NestFastifyApplication,
): Promise<{ id: string; slug: string }> {
  const market = await createTestMarket(app);
  await app.get(PrismaService).marketGpuSpec.create({
    data: {
      marketId: market.id,
      memoryBandwidthGbPerS: 3350,
      fp16Tflops: 989.4,
      fp8Tflops: 1978.9,
      int8Tops: 1978.9,
    },
  });
  return market;
}

/** A suite's afterAll: once quiet, removes its organisations' data, its admin and its markets. */
export async function closeExchange(
  app: NestFastifyApplication,
  made: { organisations: string[]; markets: string[]; admin?: TestAdmin },
): Promise<void> {
  await quiet(app);
  await removeMarketplaceData(app, made.organisations);
  await made.admin?.remove();
  for (const id of made.markets) await removeTestMarket(app, id);
  await app.close();
}

/** A lease suite's exchange and parties, filled in by the `beforeAll` that `leaseSuite` registers. */
export interface LeaseSuite {
  app: NestFastifyApplication;
  prisma: PrismaService;
  provider: TestTenant;
  buyer: TestTenant;
  /** A platform admin of the suite's own. */
  admin: TestAdmin;
  /** The provider's site, in Guiyang. */
  site: { id: string };
  /** A market of the suite's own. */
  market: { id: string; slug: string };
  /** The suite's organisations, removed after it; a test adds those it registers. */
  ids: string[];
  http: () => ReturnType<typeof request>;
  /** Moves the exchange's clock on. */
  advance: (ms: number) => Promise<Date>;
  /**
   * A lease between the pair at the suite's site and market, one GPU at 10.00 unless `terms` say
   * otherwise, started by the provider's handover; `start` as the answer states it.
   */
  startedLease(
    terms: Pick<LeaseTerms, 'durationHours' | 'billingMode'> & Partial<LeaseTerms>,
  ): Promise<{ id: string; offerId: string; bidId: string; start: string }>;
}

/**
 * Registers a lease suite's hooks and returns its `LeaseSuite`: before all, the exchange on the
 * controllable clock with `env`, a market of its own (`inference`: with H100 figures), a trading
 * pair, the provider's site and an admin; after each test, the ledger invariants; after all, the
 * clean-up. `listen` opens a port, for suites that read a live stream over fetch.
 */
export function leaseSuite(options: {
  env: Record<string, string>;
  market: 'test' | 'inference';
  admin: string;
  listen?: boolean;
}): LeaseSuite {
  const suite = {
    ids: [] as string[],
    http: () => request(suite.app.getHttpServer()),
    advance: (ms: number) => clockOf(suite.app).advance(ms),
    async startedLease(terms) {
      const lease = await leaseBetween(
        suite.app,
        { provider: suite.provider, buyer: suite.buyer, siteId: suite.site.id },
        { market: suite.market.slug, gpus: 1, price: '10.00', ...terms },
      );
      return { ...lease, start: await startLease(suite.app, suite.provider, lease.id) };
    },
  } as LeaseSuite;

  beforeAll(async () => {
    suite.app = await startExchangeOnClock(options.env);
    if (options.listen === true) await suite.app.listen({ port: 0, host: '127.0.0.1' });
    suite.prisma = suite.app.get(PrismaService);
    suite.market =
      options.market === 'inference'
        ? await createInferenceMarket(suite.app)
        : await createTestMarket(suite.app);
    ({ provider: suite.provider, buyer: suite.buyer } = await tradingPair(suite.app, suite.ids));
    suite.site = await createSite(suite.app, suite.provider, { provinceCode: '520000', cityCode: '520100' });
    suite.admin = await createTestAdmin(suite.app, options.admin);
  });

  afterEach(() => expectLedgerSound(suite.app, suite.ids));

  afterAll(() =>
    closeExchange(suite.app, { organisations: suite.ids, markets: [suite.market.id], admin: suite.admin }),
  );

  return suite;
}
