import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { Clock } from '../../infra/clock/clock';
import { DomainError } from '../../shared/domain-error';
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
  constructor(
    private readonly organisations: OrganisationsRepository,
    private readonly apiKeys: ApiKeysService,
    private readonly clock: Clock,
  ) {}

  /**
   * Self-registration: the organisation (PENDING_VERIFICATION), its owner and its first API key,
   * in one transaction. A taken email is a 409 (emails are unique across the platform).
   */
  @Transactional()
  async registerOrganisation(input: RegisterOrganisationDto): Promise<RegistrationResponse> {
    const password = validatePasswordPolicy(input.owner.password);
    const email = normaliseEmail(input.owner.email);
    if (await this.organisations.systemFindUserByEmail(email)) {
      throw new DomainError('CONFLICT', 'A user with this email already exists.');
    }
    const now = this.clock.now();
    const organisation = await this.organisations.createOrganisation({
      name: input.name.trim(),
      role: input.role,
      at: now,
    });
    const owner = await this.organisations.createUser({
      organisationId: organisation.id,
      email,
      passwordHash: await hashPassword(password),
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

  async getOrganisation(organisationId: string): Promise<OrganisationResponse> {
    const organisation = await this.organisations.findOrganisation(organisationId);
    if (!organisation) throw new DomainError('NOT_FOUND', 'Organisation not found.');
    return OrganisationsMapper.organisation(organisation);
  }
}
