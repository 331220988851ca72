import { Injectable } from '@nestjs/common';
import type { OrganisationRole, OrganisationStatus } from '@/generated/prisma/enums';
import { afterPosition, NEWEST_FIRST, type KeysetPosition } from '@/infra/pagination/cursor-codec';
import type { OrganisationRecord } from './organisations.repository';
import { Tx } from '@/infra/prisma/tx';

export interface ApiKeyRecord {
  id: string;
  organisationId: string;
  name: string;
  prefix: string;
  secretHash: Uint8Array;
  lastFour: string;
  scopes: string[];
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
  rotatedFromId: string | null;
}

interface ApiKeyWithOrganisationRow {
  id: string;
  organisation_id: string;
  name: string;
  prefix: string;
  secret_hash: Uint8Array;
  last_four: string;
  scopes: string[];
  created_at: Date;
  last_used_at: Date | null;
  expires_at: Date | null;
  revoked_at: Date | null;
  rotated_from_id: string | null;
  org_name: string;
  org_role: OrganisationRole;
  org_status: OrganisationStatus;
  org_created_at: Date;
  org_verified_at: Date | null;
  org_suspended_at: Date | null;
}

@Injectable()
export class ApiKeysRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  async create(data: {
    organisationId: string;
    name: string;
    prefix: string;
    secretHash: Buffer;
    lastFour: string;
    scopes: string[];
    expiresAt: Date | null;
    rotatedFromId: string | null;
    at: Date;
  }): Promise<ApiKeyRecord> {
    return this.tx.apiKey.create({
      data: {
        organisationId: data.organisationId,
        name: data.name,
        prefix: data.prefix,
        secretHash: new Uint8Array(data.secretHash),
        lastFour: data.lastFour,
        scopes: data.scopes,
        expiresAt: data.expiresAt,
        rotatedFromId: data.rotatedFromId,
        createdAt: data.at,
      },
    });
  }

  /**
   * Authentication runs before the organisation is known: a system read by the public prefix,
   * with the key's organisation joined in, one indexed statement per authenticated request.
   */
  async systemFindByPrefix(
    prefix: string,
  ): Promise<(ApiKeyRecord & { organisation: OrganisationRecord }) | null> {
    const [row] = await this.tx.$queryRaw<ApiKeyWithOrganisationRow[]>`
      SELECT k.id, k.organisation_id, k.name, k.prefix, k.secret_hash, k.last_four, k.scopes,
             k.created_at, k.last_used_at, k.expires_at, k.revoked_at, k.rotated_from_id,
             o.name AS org_name, o.role::text AS org_role, o.status::text AS org_status,
             o.created_at AS org_created_at, o.verified_at AS org_verified_at,
             o.suspended_at AS org_suspended_at
      FROM api_keys k JOIN organisations o ON o.id = k.organisation_id
      WHERE k.prefix = ${prefix}`;
    if (row === undefined) return null;
    return {
      id: row.id,
      organisationId: row.organisation_id,
      name: row.name,
      prefix: row.prefix,
      secretHash: row.secret_hash,
      lastFour: row.last_four,
      scopes: row.scopes,
      createdAt: row.created_at,
      lastUsedAt: row.last_used_at,
      expiresAt: row.expires_at,
      revokedAt: row.revoked_at,
      rotatedFromId: row.rotated_from_id,
      organisation: {
        id: row.organisation_id,
        name: row.org_name,
        role: row.org_role,
        status: row.org_status,
        createdAt: row.org_created_at,
        verifiedAt: row.org_verified_at,
        suspendedAt: row.org_suspended_at,
      },
    };
  }

  async list(
    organisationId: string,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<ApiKeyRecord[]> {
    return this.tx.apiKey.findMany({
      where: { organisationId, ...afterPosition(after) },
      orderBy: NEWEST_FIRST,
      take: limit + 1,
    });
  }

  /** Locks the key row for the rest of the transaction (rotate and revoke serialise on it). */
  async lockKey(organisationId: string, id: string): Promise<void> {
    await this.tx
      .$queryRaw`SELECT id FROM api_keys WHERE id = ${id}::uuid AND organisation_id = ${organisationId}::uuid FOR UPDATE`;
  }

  async hasSuccessor(organisationId: string, id: string): Promise<boolean> {
    return (await this.tx.apiKey.count({ where: { organisationId, rotatedFromId: id } })) > 0;
  }

  async find(organisationId: string, id: string): Promise<ApiKeyRecord | null> {
    return this.tx.apiKey.findFirst({ where: { id, organisationId } });
  }

  async revoke(organisationId: string, id: string, at: Date): Promise<void> {
    await this.tx.apiKey.updateMany({
      where: { id, organisationId, revokedAt: null },
      data: { revokedAt: at },
    });
  }

  /** Ends a rotated key's overlap: it stays valid until `until` unless it expires sooner. */
  async expireBy(organisationId: string, id: string, until: Date): Promise<void> {
    await this.tx.apiKey.updateMany({
      where: { id, organisationId, OR: [{ expiresAt: null }, { expiresAt: { gt: until } }] },
      data: { expiresAt: until },
    });
  }

  async systemTouch(id: string, at: Date): Promise<void> {
    await this.tx.apiKey.update({ where: { id }, data: { lastUsedAt: at } });
  }
}
