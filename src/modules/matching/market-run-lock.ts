import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '@/infra/config/app-config';
import { RedisService, type RedisScript } from '@/infra/redis/redis.service';

// Takes the lock, or records that a run was asked for while someone else holds it.
// A fresh holder clears the request: its own read of the book answers it.
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('DEL', KEYS[2])
  return 1
end
redis.call('SET', KEYS[2], '1')
return 0`;

// 1: released. 0: a run was asked for meanwhile, so the holder keeps the lock and runs again.
// -1: the lock is no longer ours (it expired while we were stalled).
const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if redis.call('DEL', KEYS[2]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 0
end
redis.call('DEL', KEYS[1])
return 1`;

const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

// Gives the lock up after a failed run; the request flag is left for the retry to find.
const ABANDON = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('SET', KEYS[2], '1')
return 1`;

export type ReleaseOutcome = 'released' | 'run-again' | 'lost';

/** The lock and request-flag keys of a market; the hash tag keeps both in one Redis Cluster slot. */
export function runLockKeys(redis: RedisService, marketId: string): { lock: string; requested: string } {
  return {
    lock: redis.key('matching', `{${marketId}}`, 'lock'),
    requested: redis.key('matching', `{${marketId}}`, 'requested'),
  };
}

/**
 * One matching run per market across every worker, with no lost wakeups. A run that cannot
 * take the lock leaves a request flag; the holder's release, atomic with that flag, either
 * hands back the lock or tells the holder to run again. So an order accepted during a run is
 * read by that run or by the next one, with no further event. The lock only keeps runs from
 * doing the same work twice; correctness rests on the epoch fence of each commit.
 */
@Injectable()
export class MarketRunLock {
  private readonly ttl: number;
  // Sent as EVALSHA once loaded (RedisService.script): a run takes and releases the lock each time.
  private readonly scripts: Record<'acquire' | 'release' | 'renew' | 'abandon', RedisScript>;

  constructor(
    private readonly redis: RedisService,
    config: AppConfig,
  ) {
    this.ttl = config.env.MATCHING_LOCK_TTL_MS;
    this.scripts = {
      acquire: redis.script('cxRunLockAcquire', ACQUIRE),
      release: redis.script('cxRunLockRelease', RELEASE),
      renew: redis.script('cxRunLockRenew', RENEW),
      abandon: redis.script('cxRunLockAbandon', ABANDON),
    };
  }

  /** A token when the lock is ours; null when another run holds it (which will run again). */
  async acquire(marketId: string): Promise<string | null> {
    const token = randomUUID();
    const got = await this.eval(this.scripts.acquire, marketId, token);
    return got === 1 ? token : null;
  }

  async release(marketId: string, token: string): Promise<ReleaseOutcome> {
    const outcome = await this.eval(this.scripts.release, marketId, token);
    if (outcome === 1) return 'released';
    return outcome === 0 ? 'run-again' : 'lost';
  }

  /** Extends the lock while a long run is alive; false once it is no longer ours. */
  async renew(marketId: string, token: string): Promise<boolean> {
    return (await this.eval(this.scripts.renew, marketId, token)) === 1;
  }

  async abandon(marketId: string, token: string): Promise<void> {
    await this.eval(this.scripts.abandon, marketId, token);
  }

  /** How often a holder renews: three chances before the lock would expire. */
  get renewEveryMs(): number {
    return Math.max(100, Math.floor(this.ttl / 3));
  }

  private async eval(script: RedisScript, marketId: string, token: string): Promise<number> {
    const keys = runLockKeys(this.redis, marketId);
    return Number(await script(2, keys.lock, keys.requested, token, String(this.ttl)));
  }
}
