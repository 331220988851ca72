import type { OrganisationStatus } from '@/generated/prisma/enums';
import { DomainError } from '@/shared/domain-error';

/** `details.reason` of every write refused because the organisation is suspended. */
export const ORGANISATION_SUSPENDED = 'ORGANISATION_SUSPENDED';

/** 403 with `details.reason: ORGANISATION_SUSPENDED`: a suspended organisation is read-only. */
export function organisationSuspended(): DomainError {
  return new DomainError('FORBIDDEN', 'The organisation is suspended: read-only access.', {
    reason: ORGANISATION_SUSPENDED,
  });
}

/** Refuses a write of a suspended organisation (DESIGN, Organisations). */
export function assertNotSuspended(status: OrganisationStatus): void {
  if (status === 'SUSPENDED') throw organisationSuspended();
}

/**
 * The status a reinstated organisation returns to: the one it had before it was suspended,
 * which `verifiedAt` records (set by verification, never cleared). A pending organisation
 * suspended before verification is reinstated pending, not verified in passing.
 */
export function reinstatedStatus(organisation: { verifiedAt: Date | null }): OrganisationStatus {
  return organisation.verifiedAt === null ? 'PENDING_VERIFICATION' : 'VERIFIED';
}
