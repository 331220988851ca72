import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { testConfig } from '../support/test-env';
import type { TestTenant } from '../support/tenants';

/** The suites' configuration: rate limits out of the way, everything else as shipped. */
export const marketplaceConfig = (): ReturnType<typeof testConfig> =>
  testConfig({ RATE_LIMIT_PER_MINUTE: '100000', RATE_LIMIT_PUBLIC_PER_MINUTE: '100000' });

const HOUR = 3_600_000;

/** An instant `hours` from now, ISO 8601 in UTC. */
export const hoursFromNow = (hours: number): string => new Date(Date.now() + hours * HOUR).toISOString();

export interface SiteBody {
  name: string;
  provinceCode: string;
  cityCode: string;
  uptimeTier: string;
  notes?: string;
}

export const siteBody = (overrides: Partial<SiteBody> = {}): SiteBody => ({
  name: `hall ${randomUUID().slice(0, 8)}`,
  provinceCode: '520000',
  cityCode: '520100',
  uptimeTier: 'TIER_III',
  ...overrides,
});

export const offerBody = (
  siteId: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> => ({
  market: 'nvidia-h100-80gb',
  siteId,
  gpus: 16,
  pricePerGpuHour: '18.20',
  availableFrom: hoursFromNow(-1),
  availableUntil: hoursFromNow(24 * 30),
  minLeaseHours: 2,
  payPerUseMinPercent: 30,
  ...overrides,
});

export const bidBody = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  market: 'nvidia-h800-80gb',
  gpus: 8,
  maxPricePerGpuHour: '20.00',
  durationHours: 24,
  provinces: ['520000', '150000'],
  minGpusPerSite: 4,
  partialAllowed: true,
  billingMode: 'PAY_PER_USE',
  expiresAt: hoursFromNow(48),
  ...overrides,
});

/** The group-commit suites' bid: 1 GPU x 1.00 x 1 h in `market`, a hold of 100 fen. */
export const smallBidBody = (
  market: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> =>
  bidBody({ market, gpus: 1, maxPricePerGpuHour: '1.00', durationHours: 1, minGpusPerSite: 1, ...overrides });

export async function createSite(
  app: NestFastifyApplication,
  tenant: TestTenant,
  overrides: Partial<SiteBody> = {},
): Promise<{ id: string; name: string }> {
  const res = await request(app.getHttpServer())
    .post('/v1/sites')
    .set(tenant.auth)
    .set('idempotency-key', randomUUID())
    .send(siteBody(overrides));
  if (res.status !== 201) throw new Error(`site creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; name: string };
}

export async function placeOffer(
  app: NestFastifyApplication,
  tenant: TestTenant,
  siteId: string,
  overrides: Record<string, unknown> = {},
): Promise<Record<string, unknown> & { id: string }> {
  const res = await request(app.getHttpServer())
    .post('/v1/offers')
    .set(tenant.auth)
    .set('idempotency-key', randomUUID())
    .send(offerBody(siteId, overrides));
  if (res.status !== 201)
    throw new Error(`offer placement failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as Record<string, unknown> & { id: string };
}

export async function placeBid(
  app: NestFastifyApplication,
  tenant: TestTenant,
  overrides: Record<string, unknown> = {},
): Promise<Record<string, unknown> & { id: string }> {
  const res = await request(app.getHttpServer())
    .post('/v1/bids')
    .set(tenant.auth)
    .set('idempotency-key', randomUUID())
    .send(bidBody(overrides));
  if (res.status !== 201) throw new Error(`bid placement failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as Record<string, unknown> & { id: string };
}

/** An error body without its request id, for comparing two answers. */
export function withoutRequestId(body: unknown): Record<string, unknown> {
  const { requestId: _requestId, ...rest } = body as Record<string, unknown>;
  return rest;
}

/** Outbox events recorded for one aggregate, oldest first. */
export async function eventsOf(
  app: NestFastifyApplication,
  aggregateId: string,
): Promise<Array<{ type: string; aggregateType: string; payload: unknown }>> {
  return app.get(PrismaService).outboxEvent.findMany({
    where: { aggregateId },
    orderBy: { seq: 'asc' },
    select: { type: true, aggregateType: true, payload: true },
  });
}

/**
 * Deletes what the marketplace suites created for these organisations: their leases, orders,
 * sites, outbox events and idempotency records. Organisations, people and keys are left to their own
 * module; unverified or order-less, later suites never see them.
 */
export async function removeMarketplaceData(
  app: NestFastifyApplication,
  organisationIds: string[],
): Promise<void> {
  const prisma = app.get(PrismaService);
  const where = { organisationId: { in: organisationIds } };
  const [offers, bids] = await Promise.all([
    prisma.offer.findMany({ where, select: { id: true } }),
    prisma.bid.findMany({ where, select: { id: true } }),
  ]);
  const leases = await prisma.lease.findMany({
    where: {
      OR: [
        { buyerOrganisationId: { in: organisationIds } },
        { providerOrganisationId: { in: organisationIds } },
      ],
    },
    select: { id: true },
  });
  const aggregateIds = [...offers, ...bids, ...leases].map((row) => row.id).concat(organisationIds);
  await prisma.outboxEvent.deleteMany({ where: { aggregateId: { in: aggregateIds } } });
  const leaseIds = { leaseId: { in: leases.map((lease) => lease.id) } };
  await prisma.usageReport.deleteMany({ where: leaseIds });
  await prisma.tokenUsage.deleteMany({ where: leaseIds });
  await prisma.periodDispute.deleteMany({ where: leaseIds });
  await prisma.sloReport.deleteMany({ where: leaseIds });
  await prisma.sloPeriodOutcome.deleteMany({ where: leaseIds });
  await prisma.usageFlag.deleteMany({ where: leaseIds });
  await prisma.leasePeriod.deleteMany({ where: leaseIds });
  await prisma.leaseExtension.deleteMany({ where: leaseIds });
  await prisma.leaseReport.deleteMany({ where: leaseIds });
  await prisma.lease.deleteMany({ where: { id: { in: leases.map((lease) => lease.id) } } });
  await prisma.offer.deleteMany({ where });
  await prisma.bid.deleteMany({ where });
  await prisma.bidReplacementPlan.deleteMany({ where });
  await prisma.site.deleteMany({ where });
  await prisma.idempotencyRecord.deleteMany({ where: { scope: { in: organisationIds } } });
}

/**
 * A market of the suite's own (its market_matching row comes with it, by the insert trigger, as
 * for the catalogue's markets), so other suites' orders never reach its book. `callPhaseMs` is the
 * phase the database gave it in its window.
 */
export async function createTestMarket(
  app: NestFastifyApplication,
  // New markets default to CALL; the suites written for price-time ask for CONTINUOUS.
  matching: { matchingMode: 'CONTINUOUS' | 'CALL'; callWindowMs?: number } = { matchingMode: 'CONTINUOUS' },
): Promise<{ id: string; slug: string; callPhaseMs: number }> {
  const id = randomUUID();
  const slug = `test-${id.slice(0, 8)}`;
  const { callPhaseMs } = await app.get(PrismaService).market.create({
    data: {
      id,
      slug,
      vendor: 'Test',
      model: 'T1',
      memoryGb: 80,
      currency: 'CNY',
      currencyScale: 2,
      feeBps: 250,
      ...matching,
    },
  });
  return { id, slug, callPhaseMs };
}

/** Removes a market made by createTestMarket, once the suite's orders in it are gone. */
export async function removeTestMarket(app: NestFastifyApplication, marketId: string): Promise<void> {
  const prisma = app.get(PrismaService);
  await prisma.outboxEvent.deleteMany({ where: { aggregateId: marketId } });
  await prisma.marketMatching.deleteMany({ where: { marketId } });
  await prisma.market.delete({ where: { id: marketId } });
}
