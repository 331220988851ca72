import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { Clock } from '@/infra/clock/clock';
import { AppConfig } from '@/infra/config/app-config';
import { DomainError } from '@/shared/domain-error';
import { AuthService } from '@/modules/organisations/auth/auth.service';
import type { AdminPrincipal } from '@/infra/auth/principal';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';
export const QUEUE_SESSION_COOKIE = 'cx_queues_session';
/** A dashboard session lasts this long; the admin asks for a new one with the bearer token. */
export const QUEUE_SESSION_TTL_SECONDS = 15 * 60;
// Its own audience: a dashboard cookie is no API access token, and no access token is a cookie.
const AUDIENCE = 'compute-exchange-queues';
const ISSUER = 'compute-exchange';

function bearerOf(header: string | undefined): string | undefined {
  return header === undefined ? undefined : /^Bearer ([!-~]{1,512})$/.exec(header)?.[1];
}

function cookieOf(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

/**
 * Admin authentication of the BullMQ dashboard under /admin/queues, which Nest guards do not
 * cover (its routes and assets are Fastify's): a platform admin's bearer access token, or the
 * short-lived HttpOnly cookie POST /admin/queues/session sets, since a browser cannot add a
 * header to the page's script and style requests.
 */
@Injectable()
export class QueueDashboardAuthService {
  constructor(
    private readonly auth: AuthService,
    private readonly jwt: JwtService,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  /** The cookie for a new dashboard session of this admin. */
  async sessionCookie(admin: AdminPrincipal): Promise<{ cookie: string; expiresAt: string }> {
    const now = this.clock.now().getTime();
    const token = await this.jwt.signAsync(
      { sub: admin.userId, iat: Math.floor(now / 1000) },
      { expiresIn: QUEUE_SESSION_TTL_SECONDS, issuer: ISSUER, audience: AUDIENCE, algorithm: 'HS256' },
    );
    const attributes = [
      `${QUEUE_SESSION_COOKIE}=${token}`,
      `Path=${QUEUE_DASHBOARD_PATH}`,
      `Max-Age=${QUEUE_SESSION_TTL_SECONDS}`,
      'HttpOnly',
      'SameSite=Strict',
      ...(this.config.env.NODE_ENV === 'production' ? ['Secure'] : []),
    ];
    return {
      cookie: attributes.join('; '),
      expiresAt: new Date(now + QUEUE_SESSION_TTL_SECONDS * 1000).toISOString(),
    };
  }

  /** 401 without a valid credential, 403 for an organisation's key or session; `source` is the client IP. */
  async authorise(
    headers: { authorization?: string; cookie?: string },
    source: string,
  ): Promise<AdminPrincipal> {
    const bearer = bearerOf(headers.authorization);
    if (bearer !== undefined) {
      const principal = await this.auth.authenticate(bearer, source);
      if (principal.kind !== 'admin') throw new DomainError('FORBIDDEN', 'Platform admins only.');
      return principal;
    }
    const session = cookieOf(headers.cookie, QUEUE_SESSION_COOKIE);
    if (session === undefined) {
      throw new DomainError(
        'UNAUTHENTICATED',
        `Send an admin access token as \`Authorization: Bearer <token>\`, or open a session with POST ${QUEUE_DASHBOARD_PATH}/session.`,
      );
    }
    return this.auth.authenticateAdminUser(await this.sessionUser(session));
  }

  private async sessionUser(token: string): Promise<string> {
    try {
      const claims = await this.jwt.verifyAsync<{ sub?: unknown; exp?: unknown }>(token, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
        // Expiry is judged by the exchange's clock, not the system time.
        ignoreExpiration: true,
      });
      if (
        typeof claims.sub !== 'string' ||
        typeof claims.exp !== 'number' ||
        claims.exp * 1000 <= this.clock.now().getTime()
      ) {
        throw new Error('expired');
      }
      return claims.sub;
    } catch {
      throw new DomainError('UNAUTHENTICATED', 'The dashboard session is invalid or expired.');
    }
  }
}
