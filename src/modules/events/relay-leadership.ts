import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { RedisService, type RedisScript } from '@/infra/redis/redis.service';

/** How long a leader stays one without renewing, and how often it renews (three chances). */
export const RELAY_LEADER_TTL_MS = 6_000;
export const RELAY_LEADER_RENEW_MS = 2_000;

// Ours already: extend it. Free: take it. Another's: 0.
const CLAIM = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

const RESIGN = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`;

/**
 * Which worker's relay answers the outbox `NOTIFY`: one at a time, by a Redis lease it renews.
 * Every relay hears every notification, and with N workers N - 1 of their passes found nothing
 * (docs/EVENTS.md); the others keep polling every `OUTBOX_POLL_INTERVAL_MS`, so a dead
 * leader delays publication by at most the poll interval until its lease lapses and another
 * takes it. Only latency rests on this: any relay may publish any row (SKIP LOCKED).
 */
@Injectable()
export class RelayLeadership {
  private readonly token = randomUUID();
  private leader = false;
  private readonly claim: RedisScript;
  private readonly resignScript: RedisScript;

  constructor(private readonly redis: RedisService) {
    this.claim = redis.script('cxRelayLeaderClaim', CLAIM);
    this.resignScript = redis.script('cxRelayLeaderResign', RESIGN);
  }

  get isLeader(): boolean {
    return this.leader;
  }

  /** Takes or renews the lease; false (and not leader) when another holds it or Redis fails. */
  async refresh(): Promise<boolean> {
    try {
      this.leader = (await this.eval(this.claim)) === 1;
    } catch {
      this.leader = false;
    }
    return this.leader;
  }

  /** Gives the lease up at shutdown, so another relay takes it on its next renewal. */
  async resign(): Promise<void> {
    this.leader = false;
    await this.eval(this.resignScript).catch(() => undefined);
  }

  private async eval(script: RedisScript): Promise<number> {
    const key = this.redis.key('outbox', 'relay-leader');
    return Number(await script(1, key, this.token, String(RELAY_LEADER_TTL_MS)));
  }
}
