import type { ApiKeyResponse, CreatedApiKeyResponse } from './dto/api-key.dto';
import type { OrganisationResponse, UserResponse } from './dto/organisation.dto';
import type { ApiKeyRecord } from './api-keys.repository';
import type { OrganisationRecord, UserRecord } from './organisations.repository';

const iso = (date: Date | null): string | null => (date === null ? null : date.toISOString());

/** The one place organisation-module records become API responses (no hashes leave here). */
export const OrganisationsMapper = {
  organisation(this: void, record: OrganisationRecord): OrganisationResponse {
    return {
      id: record.id,
      name: record.name,
      role: record.role,
      status: record.status,
      createdAt: record.createdAt.toISOString(),
      verifiedAt: iso(record.verifiedAt),
      suspendedAt: iso(record.suspendedAt),
    };
  },

  user(this: void, record: UserRecord): UserResponse {
    return {
      id: record.id,
      email: record.email,
      role: record.role,
      createdAt: record.createdAt.toISOString(),
      disabledAt: iso(record.disabledAt),
    };
  },

  apiKey(this: void, record: ApiKeyRecord, now: Date): ApiKeyResponse {
    const state =
      record.revokedAt !== null
        ? 'revoked'
        : record.expiresAt !== null && record.expiresAt <= now
          ? 'expired'
          : 'active';
    return {
      id: record.id,
      name: record.name,
      prefix: record.prefix,
      lastFour: record.lastFour,
      scopes: record.scopes,
      createdAt: record.createdAt.toISOString(),
      lastUsedAt: iso(record.lastUsedAt),
      expiresAt: iso(record.expiresAt),
      revokedAt: iso(record.revokedAt),
      state,
    };
  },

  createdApiKey(this: void, record: ApiKeyRecord, key: string, now: Date): CreatedApiKeyResponse {
    return { ...OrganisationsMapper.apiKey(record, now), key };
  },
};
