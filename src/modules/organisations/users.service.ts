import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { Clock } from '@/infra/clock/clock';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import type { Page } from '@/infra/pagination/page';
import { DomainError } from '@/shared/domain-error';
import { hashPassword, validatePasswordPolicy } from './domain/password-hasher';
import { generateOpaqueToken, hashOpaqueToken, isOpaqueTokenFormat } from './domain/opaque-token';
import type { InvitationResponse } from './dto/invitation.dto';
import type { UserResponse } from './dto/organisation.dto';
import { OrganisationsMapper } from './organisations.mapper';
import { OrganisationsRepository } from './organisations.repository';
import { normaliseEmail } from './organisations.service';
import { SessionsRepository } from './sessions.repository';

export const INVITATION_TTL_MS = 7 * 24 * 3_600_000;

@Injectable()
export class UsersService {
  constructor(
    private readonly organisations: OrganisationsRepository,
    private readonly sessions: SessionsRepository,
    private readonly clock: Clock,
    private readonly cursors: CursorCodec,
  ) {}

  async listUsers(
    organisationId: string,
    limit: number | undefined,
    cursor: string | undefined,
  ): Promise<Page<UserResponse>> {
    const size = this.cursors.limit(limit);
    const rows = await this.organisations.listUsers(organisationId, size, this.cursors.decode(cursor));
    return this.cursors.page(rows, size, OrganisationsMapper.user);
  }

  async getUser(organisationId: string, userId: string): Promise<UserResponse> {
    const user = await this.organisations.findUser(organisationId, userId);
    if (!user) throw new DomainError('NOT_FOUND', 'User not found.');
    return OrganisationsMapper.user(user);
  }

  /** The token is returned once; the API stores only its hash. Delivering it is the caller's job. */
  @Transactional()
  async inviteUser(
    organisationId: string,
    invitedBy: string,
    input: { email: string; role?: 'OWNER' | 'MEMBER' },
  ): Promise<InvitationResponse> {
    const email = normaliseEmail(input.email);
    if (await this.organisations.systemFindUserByEmail(email)) {
      throw new DomainError('CONFLICT', 'A user with this email already exists.');
    }
    const token = generateOpaqueToken('inv');
    const now = this.clock.now();
    const invitation = await this.sessions.createInvitation({
      organisationId,
      email,
      role: input.role ?? 'MEMBER',
      tokenHash: hashOpaqueToken(token),
      createdByUserId: invitedBy,
      at: now,
      expiresAt: new Date(now.getTime() + INVITATION_TTL_MS),
    });
    return {
      id: invitation.id,
      email: invitation.email,
      role: invitation.role,
      expiresAt: invitation.expiresAt.toISOString(),
      token,
    };
  }

  /** Creates the invited person; the token works once, before it expires. */
  @Transactional()
  async acceptInvitation(token: string, password: string): Promise<UserResponse> {
    const invalid = new DomainError('NOT_FOUND', 'Invitation not found or no longer valid.');
    if (!isOpaqueTokenFormat('inv', token)) throw invalid;
    const invitation = await this.sessions.systemFindInvitation(hashOpaqueToken(token));
    const now = this.clock.now();
    if (!invitation || invitation.acceptedAt || invitation.revokedAt || invitation.expiresAt <= now)
      throw invalid;
    const validPassword = validatePasswordPolicy(password);
    if (await this.organisations.systemFindUserByEmail(invitation.email)) {
      throw new DomainError('CONFLICT', 'A user with this email already exists.');
    }
    if (!(await this.sessions.acceptInvitation(invitation.id, now))) throw invalid;
    const user = await this.organisations.createUser({
      organisationId: invitation.organisationId,
      email: invitation.email,
      passwordHash: await hashPassword(validPassword),
      role: invitation.role,
      isPlatformAdmin: false,
      at: now,
    });
    return OrganisationsMapper.user(user);
  }

  /** Disabling ends the person's sessions at once; the last active owner cannot be disabled. */
  @Transactional()
  async disableUser(organisationId: string, userId: string): Promise<UserResponse> {
    // Two owners disabling each other at once must not leave the organisation without one.
    await this.organisations.lockPeople(organisationId);
    const user = await this.organisations.findUser(organisationId, userId);
    if (!user) throw new DomainError('NOT_FOUND', 'User not found.');
    if (user.disabledAt === null) {
      if (user.role === 'OWNER' && (await this.organisations.countActiveOwners(organisationId)) <= 1) {
        throw new DomainError('CONFLICT', 'An organisation keeps at least one active owner.');
      }
      const now = this.clock.now();
      await this.organisations.disableUser(organisationId, userId, now);
      await this.sessions.revokeAllForUser(userId, now);
    }
    return this.getUser(organisationId, userId);
  }
}
