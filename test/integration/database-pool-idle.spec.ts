import { once } from 'node:events';
import { DatabasePool } from '@/infra/prisma/database-pool';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { testConfig } from '../support/test-env';

const backendPid = async (prisma: PrismaService): Promise<number> => {
  const [row] = await prisma.$queryRaw<Array<{ pid: number }>>`SELECT pg_backend_pid() AS pid`;
  return row!.pid;
};

/**
 * A pool keeps its idle connections unless DATABASE_POOL_IDLE_TIMEOUT_MS says otherwise: pg's own
 * default closed one after 10 s idle, and a moderate load then reopened connections at its peaks,
 * each a fresh backend whose first batches are slow (docs/BENCHMARKS.md "Idle database connections").
 */
describe('idle database connections', () => {
  const clients: PrismaService[] = [];
  const client = (overrides: Record<string, string>): PrismaService => {
    const config = testConfig(overrides);
    const prisma = new PrismaService(config, DatabasePool.of(config, { api: true, worker: false }));
    clients.push(prisma);
    return prisma;
  };

  afterAll(() => Promise.all(clients.map((prisma) => prisma.$disconnect())));

  it('are kept by default, and closed after the configured idle time when one is set', async () => {
    const kept = client({});
    const closing = client({ DATABASE_POOL_IDLE_TIMEOUT_MS: '100' });
    expect(DatabasePool.of(testConfig(), { api: true, worker: false }).idleTimeoutMs).toBe(0);
    // pg-pool closes no idle connection when its idleTimeoutMillis is 0 (its default is 10 s).
    expect(kept.pool.options.idleTimeoutMillis).toBe(0);
    expect(closing.pool.options.idleTimeoutMillis).toBe(100);

    const keptPid = await backendPid(kept);
    const closingPid = await backendPid(closing);
    // Both idle from here; wait until the pool with a timeout has closed its connection.
    await once(closing.pool, 'remove');
    expect(closing.pool.totalCount).toBe(0);
    // The default pool, idle at least as long, still holds its connection and the same backend.
    expect(kept.pool.totalCount).toBe(1);
    expect(kept.pool.idleCount).toBe(1);
    expect(await backendPid(kept)).toBe(keptPid);
    // The other opens a fresh backend for its next statement.
    expect(await backendPid(closing)).not.toBe(closingPid);
  });
});
