import type { OrganisationRole, OrganisationStatus, UserRole } from '@/generated/prisma/enums';

/** API key scopes. `orders` (sites, offers, bids, leases) implies `read` and `usage`; `usage` reports usage only. */
export const API_KEY_SCOPES = ['read', 'orders', 'usage'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** What every authenticated request acts as. Tenant data is always scoped by `organisationId`. */
export type Principal = ApiKeyPrincipal | UserPrincipal;

export interface OrganisationContext {
  organisationId: string;
  organisationRole: OrganisationRole;
  organisationStatus: OrganisationStatus;
}

export interface ApiKeyPrincipal extends OrganisationContext {
  kind: 'api_key';
  apiKeyId: string;
  scopes: readonly ApiKeyScope[];
}

export interface UserPrincipal extends OrganisationContext {
  kind: 'user';
  userId: string;
  userRole: UserRole;
}

/** A platform admin: a person, never an API key; has no organisation. */
export interface AdminPrincipal {
  kind: 'admin';
  userId: string;
}
