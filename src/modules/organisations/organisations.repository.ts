import { Injectable } from '@nestjs/common';
import type { OrganisationRole, OrganisationStatus, UserRole } from '@/generated/prisma/enums';
import { afterPosition, NEWEST_FIRST, type KeysetPosition } from '@/infra/pagination/cursor-codec';
import { Tx } from '@/infra/prisma/tx';

export interface OrganisationRecord {
  id: string;
  name: string;
  role: OrganisationRole;
  status: OrganisationStatus;
  createdAt: Date;
  verifiedAt: Date | null;
  suspendedAt: Date | null;
}

export interface UserRecord {
  id: string;
  organisationId: string | null;
  email: string;
  passwordHash: string;
  role: UserRole;
  isPlatformAdmin: boolean;
  createdAt: Date;
  disabledAt: Date | null;
}

const ORGANISATION_FIELDS = {
  id: true,
  name: true,
  role: true,
  status: true,
  createdAt: true,
  verifiedAt: true,
  suspendedAt: true,
} as const;

/** Organisations and their people. Every method on owned data takes the organisation id. */
@Injectable()
export class OrganisationsRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  async createOrganisation(data: {
    name: string;
    role: OrganisationRole;
    at: Date;
  }): Promise<OrganisationRecord> {
    return this.tx.organisation.create({
      data: { name: data.name, role: data.role, createdAt: data.at, updatedAt: data.at },
      select: ORGANISATION_FIELDS,
    });
  }

  async findOrganisation(organisationId: string): Promise<OrganisationRecord | null> {
    return this.tx.organisation.findUnique({ where: { id: organisationId }, select: ORGANISATION_FIELDS });
  }

  async createUser(data: {
    organisationId: string | null;
    email: string;
    passwordHash: string;
    role: UserRole;
    isPlatformAdmin: boolean;
    at: Date;
  }): Promise<UserRecord> {
    return this.tx.user.create({
      data: {
        organisationId: data.organisationId,
        email: data.email,
        passwordHash: data.passwordHash,
        role: data.role,
        isPlatformAdmin: data.isPlatformAdmin,
        createdAt: data.at,
      },
    });
  }

  /** Login looks people up by email before anyone is authenticated: a system read. */
  async systemFindUserByEmail(email: string): Promise<UserRecord | null> {
    return this.tx.user.findUnique({ where: { email } });
  }

  async systemFindUser(userId: string): Promise<UserRecord | null> {
    return this.tx.user.findUnique({ where: { id: userId } });
  }

  async updatePasswordHash(userId: string, passwordHash: string): Promise<void> {
    await this.tx.user.update({ where: { id: userId }, data: { passwordHash } });
  }

  async listUsers(
    organisationId: string,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<UserRecord[]> {
    return this.tx.user.findMany({
      where: { organisationId, ...afterPosition(after) },
      orderBy: NEWEST_FIRST,
      take: limit + 1,
    });
  }

  async findUser(organisationId: string, userId: string): Promise<UserRecord | null> {
    return this.tx.user.findFirst({ where: { id: userId, organisationId } });
  }

  async disableUser(organisationId: string, userId: string, at: Date): Promise<boolean> {
    const { count } = await this.tx.user.updateMany({
      where: { id: userId, organisationId, disabledAt: null },
      data: { disabledAt: at },
    });
    return count === 1;
  }

  /** Admin search across tenants, newest first. */
  async adminListOrganisations(
    filter: { status?: OrganisationStatus; role?: OrganisationRole; nameContains?: string },
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<OrganisationRecord[]> {
    return this.tx.organisation.findMany({
      where: {
        ...(filter.status ? { status: filter.status } : {}),
        ...(filter.role ? { role: filter.role } : {}),
        ...(filter.nameContains
          ? { name: { contains: filter.nameContains, mode: 'insensitive' as const } }
          : {}),
        ...afterPosition(after),
      },
      orderBy: NEWEST_FIRST,
      take: limit + 1,
      select: ORGANISATION_FIELDS,
    });
  }

  /** PENDING_VERIFICATION -> VERIFIED; false when the organisation was not pending. */
  async adminVerify(organisationId: string, at: Date): Promise<boolean> {
    const { count } = await this.tx.organisation.updateMany({
      where: { id: organisationId, status: 'PENDING_VERIFICATION' },
      data: { status: 'VERIFIED', verifiedAt: at, updatedAt: at },
    });
    return count === 1;
  }

  /**
   * Locks the organisation row for update until commit: writes of the organisation hold it
   * key-shared (placements, usage, top-ups, payouts; every insert referencing it too), so a
   * status change waits for those in flight, and those after it see the new status.
   */
  async adminLockForStatusChange(organisationId: string): Promise<OrganisationRecord | null> {
    const [row] = await this.tx.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM organisations WHERE id = ${organisationId}::uuid FOR UPDATE`;
    return row === undefined ? null : this.findOrganisation(organisationId);
  }

  async adminSuspend(organisationId: string, at: Date): Promise<OrganisationRecord> {
    return this.tx.organisation.update({
      where: { id: organisationId },
      data: { status: 'SUSPENDED', suspendedAt: at, updatedAt: at },
      select: ORGANISATION_FIELDS,
    });
  }

  async adminReinstate(
    organisationId: string,
    status: OrganisationStatus,
    at: Date,
  ): Promise<OrganisationRecord> {
    return this.tx.organisation.update({
      where: { id: organisationId },
      data: { status, suspendedAt: null, updatedAt: at },
      select: ORGANISATION_FIELDS,
    });
  }

  /** Serialises changes to an organisation's people for the rest of the transaction. */
  async lockPeople(organisationId: string): Promise<void> {
    await this.tx
      .$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`people:${organisationId}`}, 0))`;
  }

  /** Serialises registrations of one email for the rest of the transaction. */
  async lockEmail(email: string): Promise<void> {
    await this.tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`email:${email}`}, 0))`;
  }

  async countActiveOwners(organisationId: string): Promise<number> {
    return this.tx.user.count({ where: { organisationId, role: 'OWNER', disabledAt: null } });
  }
}
