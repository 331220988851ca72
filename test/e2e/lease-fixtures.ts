import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { Clock } from '@/infra/clock/clock';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { JobProducer } from '@/infra/queues/job-producer.service';
import type { TestTenant } from '../support/tenants';
import { waitFor } from '../support/wait-for';
import { placeOffer } from './marketplace-fixtures';

const HOUR = 3_600_000;

/** Every event relayed and no job waiting or running on the queues that move leases. */
export function quiet(app: NestFastifyApplication): Promise<true> {
  const prisma = app.get(PrismaService);
  return waitFor(
    'the exchange to settle',
    async () => {
      const producer = app.get(JobProducer);
      let busy = await prisma.outboxEvent.count({ where: { publishedAt: null } });
      for (const queue of ['events', 'matching', 'leases', 'settlement'] as const) {
        const counts = await producer.queue(queue).getJobCounts('wait', 'active', 'prioritized');
        busy += (counts.wait ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0);
      }
      return busy === 0 ? true : undefined;
    },
    10_000,
    50,
  );
}

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
  const prisma = app.get(PrismaService);
  const lease = await waitFor('the lease', () =>
    prisma.lease.findFirst({ where: { bidId } }).then((row) => row ?? undefined),
  );
  await quiet(app);
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
