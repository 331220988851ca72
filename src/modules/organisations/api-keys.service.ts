import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { Clock } from '@/infra/clock/clock';
import { AppConfig } from '@/infra/config/app-config';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import type { Page } from '@/infra/pagination/page';
import { DomainError } from '@/shared/domain-error';
import { uuidV7 } from '@/shared/uuid-v7';
import { ApiKeysRepository, type ApiKeyRecord } from './api-keys.repository';
import { ApiKeyCache } from './auth/api-key-cache';
import type { ApiKeyScope } from '@/infra/auth/principal';
import { generateApiKey, hashApiKey } from './domain/api-key';
import type { ApiKeyResponse, CreatedApiKeyResponse } from './dto/api-key.dto';
import { OrganisationsMapper } from './organisations.mapper';

export const DEFAULT_ROTATION_OVERLAP_SECONDS = 86_400;
export const DEFAULT_SCOPES: ApiKeyScope[] = ['orders'];

@Injectable()
export class ApiKeysService {
  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly cursors: CursorCodec,
    private readonly keyCache: ApiKeyCache,
  ) {}

  /** Issues a key; the secret exists only in the returned response. */
  @Transactional()
  async createKey(
    organisationId: string,
    input: { name: string; scopes?: ApiKeyScope[]; expiresAt?: string; rotatedFromId?: string },
  ): Promise<CreatedApiKeyResponse> {
    const now = this.clock.now();
    const expiresAt = input.expiresAt === undefined ? null : new Date(input.expiresAt);
    if (expiresAt !== null && (Number.isNaN(expiresAt.getTime()) || expiresAt <= now)) {
      throw new DomainError('VALIDATION_FAILED', 'expiresAt must be in the future.', { field: 'expiresAt' });
    }
    const generated = generateApiKey(this.config.isProduction ? 'live' : 'test');
    const record = await this.keys.create({
      organisationId,
      name: input.name,
      prefix: generated.prefix,
      secretHash: hashApiKey(generated.key, this.config.secrets.API_KEY_PEPPER),
      lastFour: generated.lastFour,
      scopes: input.scopes ?? DEFAULT_SCOPES,
      expiresAt,
      rotatedFromId: input.rotatedFromId ?? null,
      at: now,
    });
    return OrganisationsMapper.createdApiKey(record, generated.key, now);
  }

  /** A well-formed key that is never stored, so it opens nothing: a taken email's registration answer. */
  unissuedKey(name: string, now: Date): CreatedApiKeyResponse {
    const generated = generateApiKey(this.config.isProduction ? 'live' : 'test');
    const record: ApiKeyRecord = {
      id: uuidV7(now),
      organisationId: uuidV7(now),
      name,
      prefix: generated.prefix,
      secretHash: new Uint8Array(0),
      lastFour: generated.lastFour,
      scopes: DEFAULT_SCOPES,
      createdAt: now,
      lastUsedAt: null,
      expiresAt: null,
      revokedAt: null,
      rotatedFromId: null,
    };
    return OrganisationsMapper.createdApiKey(record, generated.key, now);
  }

  async listKeys(
    organisationId: string,
    limit: number | undefined,
    cursor: string | undefined,
  ): Promise<Page<ApiKeyResponse>> {
    const size = this.cursors.limit(limit);
    const rows = await this.keys.list(organisationId, size, this.cursors.decode(cursor));
    const now = this.clock.now();
    return this.cursors.page(rows, size, (row) => OrganisationsMapper.apiKey(row, now));
  }

  async getKey(organisationId: string, id: string): Promise<ApiKeyResponse> {
    return OrganisationsMapper.apiKey(await this.findOwned(organisationId, id), this.clock.now());
  }

  /**
   * Revocation takes effect on this process's next request, on other API processes within
   * API_KEY_CACHE_TTL_MS; revoking twice is harmless.
   */
  async revokeKey(organisationId: string, id: string): Promise<ApiKeyResponse> {
    const revoked = await this.revokeKeyInTransaction(organisationId, id);
    // After the commit: forgotten earlier, a concurrent request could cache the old row again.
    this.keyCache.forgetKey(revoked.prefix);
    return revoked;
  }

  @Transactional()
  private async revokeKeyInTransaction(organisationId: string, id: string): Promise<ApiKeyResponse> {
    await this.keys.lockKey(organisationId, id);
    await this.findOwned(organisationId, id);
    await this.keys.revoke(organisationId, id, this.clock.now());
    return this.getKey(organisationId, id);
  }

  /** A new key with the same name and scopes; the old one works for `overlapSeconds` more. */
  @Transactional()
  async rotateKey(
    organisationId: string,
    id: string,
    overlapSeconds: number | undefined,
  ): Promise<CreatedApiKeyResponse> {
    // Serialised on the key row: two rotations (or a rotation and a revocation) cannot interleave.
    await this.keys.lockKey(organisationId, id);
    const old = await this.findOwned(organisationId, id);
    const now = this.clock.now();
    if (old.revokedAt !== null || (old.expiresAt !== null && old.expiresAt <= now)) {
      throw new DomainError('CONFLICT', 'Only an active key can be rotated.');
    }
    if (await this.keys.hasSuccessor(organisationId, id)) {
      throw new DomainError('CONFLICT', 'This key was already rotated; rotate its replacement instead.');
    }
    const created = await this.createKey(organisationId, {
      name: old.name,
      scopes: old.scopes as ApiKeyScope[],
      ...(old.expiresAt ? { expiresAt: old.expiresAt.toISOString() } : {}),
      rotatedFromId: old.id,
    });
    const overlap = overlapSeconds ?? DEFAULT_ROTATION_OVERLAP_SECONDS;
    await this.keys.expireBy(organisationId, old.id, new Date(now.getTime() + overlap * 1000));
    // The old key's new expiry must not wait for its cache entry to lapse on this process.
    this.keyCache.forgetKey(old.prefix);
    return created;
  }

  private async findOwned(organisationId: string, id: string): Promise<ApiKeyRecord> {
    const key = await this.keys.find(organisationId, id);
    if (!key) throw new DomainError('NOT_FOUND', 'API key not found.');
    return key;
  }
}
