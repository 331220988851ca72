import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { RedisService } from '@/infra/redis/redis.service';
import { testConfig } from '../support/test-env';
import { startHttpApp, withPlacementHold } from '../support/http-app';
import { ledgerViolations } from '../support/ledger-invariants';
import { placementHoldKeys } from '../support/placement-hold.cjs';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { waitFor } from '../support/wait-for';
import {
  createTestMarket,
  removeMarketplaceData,
  removeTestMarket,
  smallBidBody,
} from './marketplace-fixtures';

/**
 * A second group commit beside the one in flight (PLACEMENT_COMMITS_IN_FLIGHT, docs/ARCHITECTURE.md
 * "Group commit of placements"): it starts only when a full batch waits of orders whose
 * organisations no commit in flight holds, never takes an order of such an organisation, and no
 * more commits run than the setting allows. Batches of 2 here; the placement hold
 * (test/support/placement-hold.cjs) keeps every batch open before its COMMIT until released.
 * Budget: ~5 s.
 */
describe('group commit of placements: a second commit under overflow', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let redis: RedisService;
  let keys: ReturnType<typeof placementHoldKeys>;
  let market: { id: string; slug: string };
  const organisations: string[] = [];

  const buyer = async (): Promise<TestTenant> => {
    const tenant = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor: 1_000_000n });
    organisations.push(tenant.organisationId);
    return tenant;
  };

  /** Sends a bid now (not lazily, as supertest would); resolves with its status and id. */
  const sendBid = (tenant: TestTenant): Promise<{ status: number; id: string }> =>
    request(app.getHttpServer())
      .post('/v1/bids')
      .set(tenant.auth)
      .set('idempotency-key', randomUUID())
      .send(smallBidBody(market.slug))
      .then((res) => ({ status: res.status, id: String((res.body as { id?: string }).id) }));

  /** `pid:batch:size` of each batch held before its COMMIT, as sizes. */
  const heldSizes = async (): Promise<number[]> =>
    (await redis.client.lrange(keys.held, 0, -1)).map((entry) => Number(entry.split(':')[2]));

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({
        RATE_LIMIT_PER_MINUTE: '100000',
        PLACEMENT_BATCH_MAX: '2',
        PLACEMENT_COMMITS_IN_FLIGHT: '2',
      }),
      { api: true, worker: false },
      withPlacementHold,
    );
    prisma = app.get(PrismaService);
    redis = app.get(RedisService);
    keys = placementHoldKeys(redis.prefix);
    market = await createTestMarket(app);
  });

  afterEach(async () => {
    await redis.client.del(keys.hold, keys.held, keys.batches, keys.queued(process.pid));
  });

  afterAll(async () => {
    await removeMarketplaceData(app, organisations);
    await removeTestMarket(app, market.id);
    await app.close();
  });

  it('runs a full batch of other organisations beside the held one, leaves the held organisation waiting, and runs no third', async () => {
    const [gate, first, second, third, fourth] = await Promise.all([0, 1, 2, 3, 4].map(() => buyer()));
    await redis.client.set(keys.hold, '0');

    // One commit in flight, held: the gate's first bid.
    const gateBid = sendBid(gate!);
    await waitFor('the first batch to be held', async () =>
      (await redis.client.llen(keys.held)) === 1 ? true : undefined,
    );

    // Two more of the gate's bids wait: its organisation is in flight, so they are no batch of
    // their own, however many.
    const gateMore = [sendBid(gate!), sendBid(gate!)];
    await waitFor("the gate buyer's bids to queue", async () =>
      Number(await redis.client.get(keys.queued(process.pid))) === 2 ? true : undefined,
    );
    expect(await redis.client.llen(keys.held)).toBe(1);

    // A full batch (2) of other organisations starts a second commit, held in its turn.
    const others = [sendBid(first!), sendBid(second!)];
    await waitFor('a second batch to be held beside the first', async () =>
      (await redis.client.llen(keys.held)) === 2 ? true : undefined,
    );
    expect((await heldSizes()).sort()).toEqual([1, 2]);

    // With two in flight, another full batch only waits: no third commit.
    const more = [sendBid(third!), sendBid(fourth!)];
    await waitFor('the last bids to queue', async () =>
      Number(await redis.client.get(keys.queued(process.pid))) === 4 ? true : undefined,
    );
    expect(await redis.client.llen(keys.held)).toBe(2);

    await redis.client.del(keys.hold);
    const answers = await Promise.all([gateBid, ...gateMore, ...others, ...more]);
    expect(answers.map((a) => a.status)).toEqual(Array(7).fill(201));

    // Every bid committed once, in batches of at most 2: 7 orders.
    const batches = (await redis.client.lrange(keys.batches, 0, -1)).map((entry) =>
      Number(entry.split(':')[1]),
    );
    expect(batches.reduce((sum, size) => sum + size, 0)).toBe(7);
    expect(Math.max(...batches)).toBeLessThanOrEqual(2);
    const seqOf = new Map(
      (
        await prisma.bid.findMany({
          where: { id: { in: answers.map((a) => a.id) } },
          select: { id: true, seq: true },
        })
      ).map((row) => [row.id, row.seq]),
    );
    const seqs = answers.map((a) => seqOf.get(a.id));
    expect(seqs.every((seq) => typeof seq === 'bigint')).toBe(true);
    // The second batch took its seqs while the gate's later bids, queued before it, waited for the
    // first batch's COMMIT: the gate's organisation never ran in two commits at once.
    const [, gate2, gate3, other1, other2] = seqs as bigint[];
    expect(other1! < gate2! && other1! < gate3! && other2! < gate2! && other2! < gate3!).toBe(true);
    expect(await ledgerViolations(prisma, organisations)).toEqual([]);
  });
});
