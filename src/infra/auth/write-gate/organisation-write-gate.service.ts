import { Injectable } from '@nestjs/common';
import { Propagation, Transactional } from '@nestjs-cls/transactional';
import { assertNotSuspended } from '../suspension';
import { OrganisationStatusRepository } from './organisation-status.repository';

/**
 * Writes that move money or change orders call this first in their transaction, so a
 * suspension committed on any API process refuses them (403 ORGANISATION_SUSPENDED) even when
 * the caller's API key was verified from this process's cache before the suspension.
 */
@Injectable()
export class OrganisationWriteGateService {
  constructor(private readonly status: OrganisationStatusRepository) {}

  @Transactional(Propagation.Mandatory)
  async assertMayWrite(organisationId: string): Promise<void> {
    const status = await this.status.lockStatusForWrite(organisationId);
    if (status !== null) assertNotSuspended(status);
  }
}
