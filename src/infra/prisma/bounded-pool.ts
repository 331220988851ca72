import { Pool, type PoolClient, type PoolConfig } from 'pg';

/** pg-pool's own message when a connection was not free within `connectionTimeoutMillis`. */
const POOL_TIMEOUT_MESSAGE = 'timeout exceeded when trying to connect';

/** No database connection for this work now: the pool is in use and its queue is full, or the wait ran out. */
export class DatabaseBusyError extends Error {
  override readonly name = 'DatabaseBusyError';
}

type ConnectCallback = (
  err: Error | undefined,
  client: PoolClient | undefined,
  done: (release?: unknown) => void,
) => void;

/**
 * A `pg` pool that refuses a waiter at once past `queueMax` rather than let it time out, as
 * DatabaseBusyError (503) before any connection is held (docs/OPERATIONS.md, Overload).
 */
export class BoundedPool extends Pool {
  constructor(
    config: PoolConfig,
    readonly queueMax: number,
  ) {
    super(config);
  }

  override connect(): Promise<PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<PoolClient> | void {
    const full =
      this.idleCount === 0 &&
      this.totalCount >= (this.options.max ?? 10) &&
      this.waitingCount >= this.queueMax;
    if (callback === undefined) {
      if (full) return Promise.reject(busy());
      return super.connect().catch((error: unknown) => {
        throw busyIfTimedOut(error);
      });
    }
    if (full) {
      process.nextTick(() => callback(busy(), undefined, () => undefined));
      return;
    }
    super.connect((err, client, done) => callback(err ? busyIfTimedOut(err) : err, client, done));
  }
}

function busy(): DatabaseBusyError {
  return new DatabaseBusyError('every database connection is in use and the queue for one is full');
}

function busyIfTimedOut(error: unknown): Error {
  if (error instanceof Error && error.message === POOL_TIMEOUT_MESSAGE) {
    return new DatabaseBusyError('no database connection became free in time', { cause: error });
  }
  return error as Error;
}
