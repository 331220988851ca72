import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '@/infra/config/app-config';
import { RedisService, type RedisScript } from '@/infra/redis/redis.service';

// Redis's own clock scores the leases, so API processes need not agree on time (and the app's
// Clock, which tests move, does not decide when a connection's lease lapses).
const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local renewed = redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return renewed`;

export interface StreamSlot {
  renew(): Promise<void>;
  release(): Promise<void>;
}

/**
 * The per-organisation cap on open live streams, shared by every API process: one sorted set
 * per organisation whose members are leases renewed on each heartbeat, so a process that dies
 * without releasing frees its slots within three heartbeats.
 */
@Injectable()
export class StreamSlots {
  private readonly leaseMs: number;
  private readonly acquireSlot: RedisScript;
  private readonly renewSlot: RedisScript;

  constructor(
    private readonly redis: RedisService,
    private readonly config: AppConfig,
  ) {
    this.leaseMs = config.env.SSE_HEARTBEAT_MS * 3;
    this.acquireSlot = redis.script('cxStreamSlotAcquire', ACQUIRE);
    this.renewSlot = redis.script('cxStreamSlotRenew', RENEW);
  }

  /** A slot, or null when the organisation already holds its maximum. */
  async acquire(organisationId: string): Promise<StreamSlot | null> {
    const key = this.redis.key('sse', 'streams', organisationId);
    const member = randomUUID();
    const cap = this.config.env.SSE_MAX_STREAMS_PER_ORG;
    const granted = await this.acquireSlot(1, key, cap, member, this.leaseMs);
    if (granted !== 1) return null;
    return {
      renew: async () => {
        await this.renewSlot(1, key, member, this.leaseMs);
      },
      release: async () => {
        await this.redis.client.zrem(key, member);
      },
    };
  }
}
