import { Injectable } from '@nestjs/common';
import type { UserRole } from '@/generated/prisma/enums';
import type { UserRecord } from './organisations.repository';
import { Tx } from '@/infra/prisma/tx';

export interface RefreshTokenRecord {
  id: string;
  userId: string;
  familyId: string;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
}

export interface InvitationRecord {
  id: string;
  organisationId: string;
  email: string;
  role: UserRole;
  createdAt: Date;
  expiresAt: Date;
  acceptedAt: Date | null;
  revokedAt: Date | null;
}

/** Refresh tokens and invitations: both looked up by the hash of a high-entropy token. */
@Injectable()
export class SessionsRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  async createRefreshToken(data: {
    userId: string;
    familyId: string;
    tokenHash: Buffer;
    at: Date;
    expiresAt: Date;
  }): Promise<void> {
    await this.tx.refreshToken.create({
      data: {
        userId: data.userId,
        familyId: data.familyId,
        tokenHash: new Uint8Array(data.tokenHash),
        createdAt: data.at,
        expiresAt: data.expiresAt,
      },
    });
  }

  async systemFindRefreshToken(tokenHash: Buffer): Promise<RefreshTokenRecord | null> {
    return this.tx.refreshToken.findUnique({
      where: { tokenHash: new Uint8Array(tokenHash) },
      select: { id: true, userId: true, familyId: true, expiresAt: true, usedAt: true, revokedAt: true },
    });
  }

  /**
   * The user, if the session (refresh-token family) is still live: revoking a family revokes
   * every token in it, so a live one keeps a token not revoked. One statement (an EXISTS).
   */
  async systemFindUserOfLiveSession(userId: string, familyId: string): Promise<UserRecord | null> {
    return this.tx.user.findFirst({
      where: { id: userId, refreshTokens: { some: { familyId, revokedAt: null } } },
    });
  }

  /** Marks the token used; false when a concurrent request used it first. */
  async markRefreshTokenUsed(id: string, at: Date): Promise<boolean> {
    const { count } = await this.tx.refreshToken.updateMany({
      where: { id, usedAt: null, revokedAt: null },
      data: { usedAt: at },
    });
    return count === 1;
  }

  async revokeFamily(familyId: string, at: Date): Promise<void> {
    await this.tx.refreshToken.updateMany({ where: { familyId, revokedAt: null }, data: { revokedAt: at } });
  }

  async revokeAllForUser(userId: string, at: Date): Promise<void> {
    await this.tx.refreshToken.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: at } });
  }

  async createInvitation(data: {
    organisationId: string;
    email: string;
    role: UserRole;
    tokenHash: Buffer;
    createdByUserId: string;
    at: Date;
    expiresAt: Date;
  }): Promise<InvitationRecord> {
    return this.tx.invitation.create({
      data: {
        organisationId: data.organisationId,
        email: data.email,
        role: data.role,
        tokenHash: new Uint8Array(data.tokenHash),
        createdByUserId: data.createdByUserId,
        createdAt: data.at,
        expiresAt: data.expiresAt,
      },
      select: {
        id: true,
        organisationId: true,
        email: true,
        role: true,
        createdAt: true,
        expiresAt: true,
        acceptedAt: true,
        revokedAt: true,
      },
    });
  }

  async systemFindInvitation(tokenHash: Buffer): Promise<InvitationRecord | null> {
    return this.tx.invitation.findUnique({
      where: { tokenHash: new Uint8Array(tokenHash) },
      select: {
        id: true,
        organisationId: true,
        email: true,
        role: true,
        createdAt: true,
        expiresAt: true,
        acceptedAt: true,
        revokedAt: true,
      },
    });
  }

  async acceptInvitation(id: string, at: Date): Promise<boolean> {
    const { count } = await this.tx.invitation.updateMany({
      where: { id, acceptedAt: null, revokedAt: null },
      data: { acceptedAt: at },
    });
    return count === 1;
  }
}
