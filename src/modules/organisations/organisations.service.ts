import { Injectable, Logger } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { Clock } from '@/infra/clock/clock';
import { DomainError } from '@/shared/domain-error';
import { uuidV7 } from '@/shared/uuid-v7';
import { ApiKeysService } from './api-keys.service';
import { hashPassword, validatePasswordPolicy } from './domain/password-hasher';
import type { RegisterOrganisationDto } from './dto/register-organisation.dto';
import type { OrganisationResponse, RegistrationResponse } from './dto/organisation.dto';
import { OrganisationsMapper } from './organisations.mapper';
import { OrganisationsRepository } from './organisations.repository';

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Registration keys are scoped by the email registered, so callers' keys never meet. */
export function registrantOf(body: unknown): string {
  const email = (body as { owner?: { email?: unknown } } | null)?.owner?.email;
  return typeof email === 'string' ? normaliseEmail(email) : '';
}

@Injectable()
export class OrganisationsService {
  private readonly logger = new Logger(OrganisationsService.name);

  constructor(
    private readonly organisations: OrganisationsRepository,
    private readonly apiKeys: ApiKeysService,
    private readonly clock: Clock,
  ) {}

  /**
   * Self-registration: the organisation (PENDING_VERIFICATION), its owner and its first API key,
   * in one transaction. A taken email (emails are unique across the platform) gets an answer of
   * the same status and shape that creates nothing and whose key opens nothing: registration
   * never tells a caller whether an email is taken (docs/DESIGN.md).
   */
  @Transactional()
  async registerOrganisation(input: RegisterOrganisationDto): Promise<RegistrationResponse> {
    const password = validatePasswordPolicy(input.owner.password);
    const email = normaliseEmail(input.owner.email);
    const name = input.name.trim();
    // Hashed on both paths, so a taken email is not answered measurably faster.
    const passwordHash = await hashPassword(password);
    // Concurrent registrations of one email queue here; all but the first then find its owner.
    await this.organisations.lockEmail(email);
    if (await this.organisations.systemFindUserByEmail(email)) {
      this.logger.log('registration for an existing email answered without effect');
      return this.lookalikeRegistration(name, input.role, email);
    }
    const now = this.clock.now();
    const organisation = await this.organisations.createOrganisation({ name, role: input.role, at: now });
    const owner = await this.organisations.createUser({
      organisationId: organisation.id,
      email,
      passwordHash,
      role: 'OWNER',
      isPlatformAdmin: false,
      at: now,
    });
    const apiKey = await this.apiKeys.createKey(organisation.id, { name: 'default' });
    return {
      organisation: OrganisationsMapper.organisation(organisation),
      owner: OrganisationsMapper.user(owner),
      apiKey,
    };
  }

  /** What a new registration would answer, with ids and a key that exist nowhere. */
  private lookalikeRegistration(
    name: string,
    role: RegisterOrganisationDto['role'],
    email: string,
  ): RegistrationResponse {
    const now = this.clock.now();
    const at = now.toISOString();
    return {
      organisation: {
        id: uuidV7(now),
        name,
        role,
        status: 'PENDING_VERIFICATION',
        createdAt: at,
        verifiedAt: null,
        suspendedAt: null,
      },
      owner: { id: uuidV7(now), email, role: 'OWNER', createdAt: at, disabledAt: null },
      apiKey: this.apiKeys.unissuedKey('default', now),
    };
  }

  async getOrganisation(organisationId: string): Promise<OrganisationResponse> {
    const organisation = await this.organisations.findOrganisation(organisationId);
    if (!organisation) throw new DomainError('NOT_FOUND', 'Organisation not found.');
    return OrganisationsMapper.organisation(organisation);
  }
}
