import { applyDecorators, createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '@/infra/http/api-errors';
import type { OrganisationRole } from '@/generated/prisma/enums';
import { DomainError } from '@/shared/domain-error';
import type { AdminPrincipal, ApiKeyScope, Principal, UserPrincipal } from './principal';

export const PUBLIC_ROUTE = 'auth:public';
// @nestjs/swagger's metadata key for operation security (`[{}]`: anonymous access).
const SWAGGER_SECURITY = 'swagger/apiSecurity';
export const REQUIRED_ROLE = 'auth:role';
export const REQUIRED_SCOPE = 'auth:scope';
export const OWNER_ONLY = 'auth:owner-only';
export const ADMIN_ONLY = 'auth:admin-only';
export const ALLOWED_WHILE_SUSPENDED = 'auth:allowed-while-suspended';
export const STREAM_TICKET_ACCEPTED = 'auth:stream-ticket';

/** No authentication (registration, login, public market data); documented as `security: [{}]` (no requirement). */
export const Public = (): MethodDecorator & ClassDecorator =>
  applyDecorators(SetMetadata(PUBLIC_ROUTE, true), SetMetadata(SWAGGER_SECURITY, [{}]));

/** Only organisations of this role (a buyer cannot place offers). */
export const RequireRole = (role: OrganisationRole): MethodDecorator & ClassDecorator =>
  SetMetadata(REQUIRED_ROLE, role);

/** API keys need this scope; signed-in users have every scope their role allows. */
export const RequireScope = (scope: ApiKeyScope): MethodDecorator & ClassDecorator =>
  SetMetadata(REQUIRED_SCOPE, scope);

/** Keys, users and money: organisation owners signed in as people, never API keys or members. */
export const OwnerOnly = (): MethodDecorator & ClassDecorator => SetMetadata(OWNER_ONLY, true);

/**
 * A write a suspended organisation may still make, because it only fulfils an obligation it
 * already has or reduces its own access (handing over a lease's access, revoking a key).
 */
export const AllowedWhileSuspended = (): MethodDecorator => SetMetadata(ALLOWED_WHILE_SUSPENDED, true);

/**
 * Besides the Authorization header, a single-use `?ticket=` from POST /v1/events/stream-tickets
 * authenticates this route: for browsers' EventSource, which cannot send headers.
 */
export const StreamTicketAccepted = (): MethodDecorator => SetMetadata(STREAM_TICKET_ACCEPTED, true);

/** Platform admin routes under /admin. */
export const AdminOnly = (): MethodDecorator & ClassDecorator => SetMetadata(ADMIN_ONLY, true);

/** An admin controller: admin-only, documented under `admin` with the access token and 401/403. */
export const AdminApi = (): ClassDecorator =>
  applyDecorators(
    ApiTags('admin'),
    ApiBearerAuth('access-token'),
    AdminOnly(),
    ApiErrors(401, { 403: 'Not a platform admin' }),
  );

interface AuthenticatedRequest {
  principal?: Principal | AdminPrincipal;
}

/** The authenticated organisation principal of the request (set by AuthGuard). */
export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal || principal.kind === 'admin') {
    throw new DomainError('UNAUTHENTICATED', 'Authentication is required.');
  }
  return principal;
});

/** The signed-in person (routes marked @OwnerOnly() guarantee one). */
export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): UserPrincipal => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal || principal.kind !== 'user') {
    throw new DomainError('FORBIDDEN', 'Sign in as a person to do this.');
  }
  return principal;
});

/** The authenticated platform admin of the request. */
export const CurrentAdmin = createParamDecorator((_: unknown, ctx: ExecutionContext): AdminPrincipal => {
  const principal = ctx.switchToHttp().getRequest<AuthenticatedRequest>().principal;
  if (!principal || principal.kind !== 'admin') {
    throw new DomainError('FORBIDDEN', 'Platform admins only.');
  }
  return principal;
});
