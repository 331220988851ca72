import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterPrisma } from '@nestjs-cls/transactional-adapter-prisma';
import type { PrismaService } from '../../infra/prisma/prisma.service';
import { afterPosition, NEWEST_FIRST, type KeysetPosition } from '../../infra/pagination/cursor-codec';
import type { OrganisationRecord } from './organisations.repository';

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

@Injectable()
export class ApiKeysRepository {
  constructor(private readonly txHost: TransactionHost<TransactionalAdapterPrisma<PrismaService>>) {}

  private get tx(): TransactionHost<TransactionalAdapterPrisma<PrismaService>>['tx'] {
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

  /** Authentication runs before the organisation is known: a system read by the public prefix. */
  async systemFindByPrefix(
    prefix: string,
  ): Promise<(ApiKeyRecord & { organisation: OrganisationRecord }) | null> {
    return this.tx.apiKey.findUnique({
      where: { prefix },
      include: {
        organisation: {
          select: {
            id: true,
            name: true,
            role: true,
            status: true,
            createdAt: true,
            verifiedAt: true,
            suspendedAt: true,
          },
        },
      },
    });
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
