import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { Clock } from '@/infra/clock/clock';
import type { ControllableClock } from '@/infra/clock/controllable-clock';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { SettlementService } from '@/modules/billing/settlement/settlement.service';
import { LeaseLifecycleService } from '@/modules/leases/lease-lifecycle.service';
import { ledgerViolations } from './ledger-invariants';
import type { TestTenant } from './tenants';
import { waitFor } from './wait-for';

export const HOUR = 3_600_000;
export const MINUTE = 60_000;

/** The exchange's clock when it runs with CLOCK=controllable: the tests move it. */
export const clockOf = (app: NestFastifyApplication): ControllableClock =>
  app.get<Clock, ControllableClock>(Clock);

const LEASE_QUEUES = ['events', 'matching', 'leases', 'settlement'] as const;

/**
 * Every event relayed and no job waiting or running on `queues`: by default the queues that move
 * leases; a suite that only places and matches orders names `events` and `matching`.
 */
export function quiet(
  app: NestFastifyApplication,
  queues: readonly (typeof LEASE_QUEUES)[number][] = LEASE_QUEUES,
): Promise<true> {
  const prisma = app.get(PrismaService);
  return waitFor(
    'the exchange to settle',
    async () => {
      const producer = app.get(JobProducer);
      let busy = await prisma.outboxEvent.count({ where: { publishedAt: null } });
      for (const queue of queues) {
        const counts = await producer.queue(queue).getJobCounts('wait', 'active', 'prioritized');
        busy += (counts.wait ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0);
      }
      return busy === 0 ? true : undefined;
    },
    10_000,
    50,
  );
}

/** A suite's afterEach: once the exchange is quiet, DESIGN invariant 4 holds for its organisations. */
export async function expectLedgerSound(
  app: NestFastifyApplication,
  organisationIds: string[],
): Promise<void> {
  await quiet(app);
  expect(await ledgerViolations(app.get(PrismaService), organisationIds)).toEqual([]);
}

/** The lease the worker made of this bid, once the exchange is quiet again. */
export async function leaseOfBid(app: NestFastifyApplication, bidId: string, what = 'the lease') {
  const prisma = app.get(PrismaService);
  const lease = await waitFor(what, () =>
    prisma.lease.findFirst({ where: { bidId } }).then((row) => row ?? undefined),
  );
  await quiet(app);
  return lease;
}

/** The lease sweep, as its hourly run would: ends the leases that are due. */
export const sweepLeases = (app: NestFastifyApplication) => app.get(LeaseLifecycleService).sweep();

/** Settles a lease's due periods directly; the number settled. */
export const settleLease = (app: NestFastifyApplication, leaseId: string): Promise<number> =>
  app.get(SettlementService).settleLease(leaseId);

/** The settlement sweep and the jobs it enqueued, then the lease directly; the number that call settled. */
export async function settleDue(app: NestFastifyApplication, leaseId: string): Promise<number> {
  await app.get(SettlementService).sweep();
  await quiet(app);
  return settleLease(app, leaseId);
}

/** An organisation's cached CNY balance of one ledger account, in fen. */
export async function ledgerBalance(
  app: NestFastifyApplication,
  organisationId: string,
  kind: 'BUYER_AVAILABLE' | 'PROVIDER_EARNINGS',
): Promise<bigint> {
  const account = await app
    .get(PrismaService)
    .ledgerAccount.findFirstOrThrow({ where: { organisationId, kind, currency: 'CNY' } });
  return account.balance;
}

/** The tenant's first balance as `GET /v1/billing/balance` states it. */
export async function balanceOf(
  app: NestFastifyApplication,
  tenant: TestTenant,
): Promise<Record<string, string>> {
  const res = await request(app.getHttpServer()).get('/v1/billing/balance').set(tenant.auth).expect(200);
  return (res.body as { balances: Array<Record<string, string>> }).balances[0]!;
}
