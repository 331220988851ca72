import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { DomainError } from '@/shared/domain-error';

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 3_600_000;
const ISSUER = 'compute-exchange';
const AUDIENCE = 'compute-exchange-api';

export interface AccessClaims {
  /** User id. */
  sub: string;
  /** Organisation id; absent for platform admins. */
  org?: string;
  /** Platform admin. */
  adm?: true;
  /** Session (refresh-token family) id: the token is refused once its session is revoked. */
  sid: string;
}

/** Short-lived signed access tokens (HS256) for people; API keys are the machine credential. */
@Injectable()
export class AccessTokens {
  constructor(private readonly jwt: JwtService) {}

  async issue(claims: AccessClaims, nowMs: number): Promise<string> {
    return this.jwt.signAsync(
      { ...claims, iat: Math.floor(nowMs / 1000) },
      { expiresIn: ACCESS_TOKEN_TTL_SECONDS, issuer: ISSUER, audience: AUDIENCE, algorithm: 'HS256' },
    );
  }

  async verify(token: string, nowMs: number): Promise<AccessClaims> {
    try {
      const claims = await this.jwt.verifyAsync<AccessClaims & { exp: number }>(token, {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
        // Expiry is judged by the exchange's clock, not the system time.
        ignoreExpiration: true,
      });
      if (
        typeof claims.sub !== 'string' ||
        typeof claims.sid !== 'string' ||
        typeof claims.exp !== 'number' ||
        claims.exp * 1000 <= nowMs
      ) {
        throw new Error('expired');
      }
      return claims;
    } catch {
      throw new DomainError('UNAUTHENTICATED', 'The access token is invalid or expired.');
    }
  }
}
