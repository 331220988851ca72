import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import type { OrganisationRole } from '@/generated/prisma/enums';
import { DomainError } from '@/shared/domain-error';
import {
  ADMIN_ONLY,
  ALLOWED_WHILE_SUSPENDED,
  OWNER_ONLY,
  PUBLIC_ROUTE,
  REQUIRED_ROLE,
  REQUIRED_SCOPE,
  STREAM_TICKET_ACCEPTED,
} from './auth.decorators';
import { Authenticator } from './authenticator';
import type { AdminPrincipal, ApiKeyScope, Principal } from './principal';
import { organisationSuspended } from './suspension';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer ([!-~]{1,512})$/.exec(header);
  return match?.[1];
}

function ticketOf(request: FastifyRequest): string | undefined {
  const ticket = (request.query as Record<string, unknown> | undefined)?.ticket;
  return typeof ticket === 'string' ? ticket : undefined;
}

function hasScope(scopes: readonly ApiKeyScope[], required: ApiKeyScope): boolean {
  // `orders` is the operator's full key; `read` and `usage` are the narrow ones (dashboards, meters).
  return scopes.includes(required) || (required !== 'orders' && scopes.includes('orders'));
}

/**
 * Global guard: every route needs a credential unless marked @Public(). Authorises by the
 * route's metadata: admin-only, organisation role, API key scope, owner-only; suspended
 * organisations are read-only.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: Authenticator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    const request = context
      .switchToHttp()
      .getRequest<FastifyRequest & { principal?: Principal | AdminPrincipal }>();
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;

    const bearer = bearerOf(request);
    const ticket = this.reflector.get<boolean | undefined>(STREAM_TICKET_ACCEPTED, context.getHandler())
      ? ticketOf(request)
      : undefined;
    let principal: Principal | AdminPrincipal;
    if (bearer !== undefined) principal = await this.auth.authenticate(bearer, request.ip);
    else if (ticket !== undefined) principal = await this.auth.authenticateStreamTicket(ticket);
    else {
      throw new DomainError(
        'UNAUTHENTICATED',
        'Send an API key or access token as `Authorization: Bearer <credential>`.',
      );
    }
    request.principal = principal;

    const adminOnly = this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, targets) ?? false;
    if (principal.kind === 'admin' || adminOnly) {
      if (principal.kind === 'admin' && adminOnly) return true;
      throw new DomainError(
        'FORBIDDEN',
        adminOnly ? 'Platform admins only.' : 'Platform admins act through /admin routes.',
      );
    }

    const role = this.reflector.getAllAndOverride<OrganisationRole | undefined>(REQUIRED_ROLE, targets);
    if (role !== undefined && principal.organisationRole !== role) {
      throw new DomainError('FORBIDDEN', `This route is for ${role.toLowerCase()} organisations.`);
    }
    // Keys need a scope for every route: reads default to `read`, writes to `orders`.
    const scope =
      this.reflector.getAllAndOverride<ApiKeyScope | undefined>(REQUIRED_SCOPE, targets) ??
      (READ_METHODS.has(request.method) ? 'read' : 'orders');
    if (principal.kind === 'api_key' && !hasScope(principal.scopes, scope)) {
      throw new DomainError('FORBIDDEN', `This API key lacks the "${scope}" scope.`);
    }
    const ownerOnly = this.reflector.getAllAndOverride<boolean>(OWNER_ONLY, targets) ?? false;
    if (ownerOnly && (principal.kind !== 'user' || principal.userRole !== 'OWNER')) {
      throw new DomainError('FORBIDDEN', 'Only organisation owners, signed in, may do this.');
    }
    if (
      principal.organisationStatus === 'SUSPENDED' &&
      !READ_METHODS.has(request.method) &&
      this.reflector.get<boolean | undefined>(ALLOWED_WHILE_SUSPENDED, context.getHandler()) !== true
    ) {
      throw organisationSuspended();
    }
    return true;
  }
}
