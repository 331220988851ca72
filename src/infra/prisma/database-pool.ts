import type { AppConfig } from '@/infra/config/app-config';
import { WORKER_CONCURRENCY } from '@/infra/queues/worker-concurrency';

/** Connections an API process may use at once (concurrent requests that reach the database). */
export const API_POOL_CONNECTIONS = 10;
/** A worker's connections beyond one per job slot: schedulers, the relay's reads, readiness. */
export const WORKER_POOL_HEADROOM = 4;

/**
 * Callers an API process lets wait for a connection, per connection of its pool, before it
 * refuses the next at once (503): a burst several times the pool queues and is served, a flood
 * is answered fast. Each waiter also gives up after DATABASE_TX_MAX_WAIT_MS.
 */
export const API_QUEUE_PER_CONNECTION = 8;

/** One connection for every job slot of the worker, plus headroom. */
export function workerPoolConnections(): number {
  return Object.values(WORKER_CONCURRENCY).reduce((sum, n) => sum + n, 0) + WORKER_POOL_HEADROOM;
}

/**
 * The pool size of a process: DATABASE_POOL_MAX when set, else what its roles can use at once.
 * A smaller pool makes a worker restarted into a backlog queue its jobs for connections, and
 * those that wait past DATABASE_TX_MAX_WAIT_MS fail ("Unable to start a transaction").
 */
export function databasePoolSize(roles: { api: boolean; worker: boolean }, configured?: number): number {
  if (configured !== undefined) return configured;
  return (roles.api ? API_POOL_CONNECTIONS : 0) + (roles.worker ? workerPoolConnections() : 0);
}

/** The pool settings of this process, injected into PrismaService. */
export class DatabasePool {
  constructor(
    readonly max: number,
    readonly maxWaitMs: number,
    readonly transactionTimeoutMs: number,
    /**
     * Callers that may wait for a connection while all are in use; the next is refused at once
     * (503 over HTTP). A worker alone queues without bound: its pool covers its job slots.
     */
    readonly queueMax = Number.POSITIVE_INFINITY,
    /**
     * How long an idle connection stays open; 0: until the process stops. pg's default closes one
     * after 10 s idle, and since its pool hands out the connection released last, the ones below
     * a moderate load's usual concurrency idle out and are opened again at its next peak, where a
     * fresh backend plans and compiles everything anew (docs/BENCHMARKS.md "Idle database connections").
     */
    readonly idleTimeoutMs = 0,
  ) {}

  static of(config: AppConfig, roles: { api: boolean; worker: boolean }): DatabasePool {
    const max = databasePoolSize(roles, config.env.DATABASE_POOL_MAX);
    return new DatabasePool(
      max,
      config.env.DATABASE_TX_MAX_WAIT_MS,
      config.env.DATABASE_TX_TIMEOUT_MS,
      roles.api
        ? (config.env.DATABASE_QUEUE_MAX ?? API_QUEUE_PER_CONNECTION * max)
        : Number.POSITIVE_INFINITY,
      config.env.DATABASE_POOL_IDLE_TIMEOUT_MS,
    );
  }
}
