import { WORKER_CONCURRENCY } from '@/infra/queues/worker-concurrency';
import { API_POOL_CONNECTIONS, databasePoolSize } from './database-pool';

const jobSlots = Object.values(WORKER_CONCURRENCY).reduce((a, b) => a + b, 0);

describe('databasePoolSize', () => {
  it('gives a worker a connection for every job slot, with headroom', () => {
    expect(databasePoolSize({ api: false, worker: true })).toBeGreaterThan(jobSlots);
  });

  it('adds the API share when one process runs both', () => {
    expect(databasePoolSize({ api: true, worker: true })).toBe(
      databasePoolSize({ api: false, worker: true }) + API_POOL_CONNECTIONS,
    );
    expect(databasePoolSize({ api: true, worker: false })).toBe(API_POOL_CONNECTIONS);
  });

  it('keeps DATABASE_POOL_MAX when it is set', () => {
    expect(databasePoolSize({ api: true, worker: true }, 7)).toBe(7);
  });
});
