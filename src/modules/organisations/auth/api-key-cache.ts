import { Injectable } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import { Clock } from '@/infra/clock/clock';
import { AppConfig } from '@/infra/config/app-config';
import type { ApiKeyRecord } from '../api-keys.repository';
import { API_KEY_LENGTH, API_KEY_PREFIX_LENGTH } from '../domain/api-key';
import type { OrganisationRecord } from '../organisations.repository';

export type VerifiedApiKey = ApiKeyRecord & { organisation: OrganisationRecord };

/** Enough for every key of a large deployment; beyond it the oldest entries make room. */
export const API_KEY_CACHE_MAX_ENTRIES = 10_000;

/**
 * API keys this process verified recently, by public prefix, so an authenticated request costs
 * no lookup: each entry is reused for at most API_KEY_CACHE_TTL_MS from when it was read. Only
 * keys that verified are kept, with the key as presented, so the same key presented again is
 * recognised by a constant-time comparison instead of its checksum and HMAC; any other candidate
 * with the prefix is still checked against the cached hash. Changes made through this process
 * forget the affected entries at once; changes made elsewhere (another process, SQL) apply when
 * the entry lapses.
 */
@Injectable()
export class ApiKeyCache {
  private readonly entries = new Map<string, { key: VerifiedApiKey; readAt: number; presented?: Buffer }>();
  private readonly ttlMs: number;

  constructor(
    private readonly clock: Clock,
    config: AppConfig,
  ) {
    this.ttlMs = config.env.API_KEY_CACHE_TTL_MS;
  }

  get(prefix: string): VerifiedApiKey | undefined {
    return this.fresh(prefix)?.key;
  }

  /** The cached key that `candidate` is, byte for byte (compared in constant time), or undefined. */
  verified(candidate: string): VerifiedApiKey | undefined {
    if (candidate.length !== API_KEY_LENGTH) return undefined;
    const entry = this.fresh(candidate.slice(0, API_KEY_PREFIX_LENGTH));
    if (entry?.presented === undefined) return undefined;
    const presented = Buffer.from(candidate, 'utf8');
    return presented.length === entry.presented.length && timingSafeEqual(presented, entry.presented)
      ? entry.key
      : undefined;
  }

  private fresh(prefix: string): { key: VerifiedApiKey; readAt: number; presented?: Buffer } | undefined {
    const entry = this.entries.get(prefix);
    if (entry === undefined) return undefined;
    const age = this.clock.now().getTime() - entry.readAt;
    // A clock moved backwards (tests) makes the age negative: treat that as stale too.
    if (age >= 0 && age < this.ttlMs) return entry;
    this.entries.delete(prefix);
    return undefined;
  }

  /** Keeps a key that just verified, as read at `readAt`, and as `presented` (the full key). */
  remember(key: VerifiedApiKey, readAt: Date, presented?: string): void {
    if (this.ttlMs === 0) return;
    this.entries.delete(key.prefix);
    if (this.entries.size >= API_KEY_CACHE_MAX_ENTRIES) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(key.prefix, {
      key,
      readAt: readAt.getTime(),
      ...(presented === undefined ? {} : { presented: Buffer.from(presented, 'utf8') }),
    });
  }

  /** Records a last-used stamp written for a cached key, so it is not written again at once. */
  touched(prefix: string, at: Date): void {
    const entry = this.entries.get(prefix);
    if (entry !== undefined) entry.key = { ...entry.key, lastUsedAt: at };
  }

  forgetKey(prefix: string): void {
    this.entries.delete(prefix);
  }

  /** Every key of an organisation whose status changed. */
  forgetOrganisation(organisationId: string): void {
    for (const [prefix, entry] of this.entries) {
      if (entry.key.organisationId === organisationId) this.entries.delete(prefix);
    }
  }
}
