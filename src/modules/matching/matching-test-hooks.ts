import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../infra/config/app-config';
import { RedisService } from '../../infra/redis/redis.service';

const POLL_MS = 20;
const MAX_HOLD_MS = 120_000;

/** Redis keys of the test-only hold: a test sets `hold`; `held` lists the pid of each run waiting. */
export const holdKeys = (redis: RedisService, marketId: string): { hold: string; held: string } => ({
  hold: redis.key('test', 'matching-hold', marketId),
  held: redis.key('test', 'matching-held', marketId),
});

/**
 * Test-only hook (MATCHING_TEST_HOOKS, refused in production): while a test holds a market, a
 * run that has read its book waits before computing and committing, and says so with its pid.
 * The wait counts poll intervals rather than reading a second clock.
 * The crash and wakeup suites use it to stop a worker at the worst moment.
 */
@Injectable()
export class MatchingTestHooks {
  private readonly enabled: boolean;

  constructor(
    private readonly redis: RedisService,
    config: AppConfig,
  ) {
    this.enabled = config.env.MATCHING_TEST_HOOKS;
  }

  async afterBookRead(marketId: string): Promise<void> {
    if (!this.enabled) return;
    const keys = holdKeys(this.redis, marketId);
    if ((await this.redis.client.exists(keys.hold)) === 0) return;
    await this.redis.client.rpush(keys.held, String(process.pid));
    for (let waited = 0; waited < MAX_HOLD_MS; waited += POLL_MS) {
      if ((await this.redis.client.exists(keys.hold)) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    await this.redis.client.lrem(keys.held, 1, String(process.pid));
  }
}
