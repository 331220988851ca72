import { Injectable } from '@nestjs/common';
import { Propagation, Transactional } from '@nestjs-cls/transactional';
import { randomUUID } from 'node:crypto';
import { Clock } from '@/infra/clock/clock';
import { AppConfig } from '@/infra/config/app-config';
import { DomainError } from '@/shared/domain-error';
import { ApiKeysRepository } from '../api-keys.repository';
import { apiKeyMatches, parseApiKey } from '../domain/api-key';
import { generateOpaqueToken, hashOpaqueToken, isOpaqueTokenFormat } from '../domain/opaque-token';
import { hashPassword, needsRehash, verifyPassword } from '../domain/password-hasher';
import type { SessionResponse } from '../dto/auth.dto';
import { OrganisationsRepository, type UserRecord } from '../organisations.repository';
import { normaliseEmail } from '../organisations.service';
import { SessionsRepository } from '../sessions.repository';
import type { Authenticator } from '@/infra/auth/authenticator';
import { ACCESS_TOKEN_TTL_SECONDS, AccessTokens, REFRESH_TOKEN_TTL_MS } from './access-tokens';
import { ApiKeyCache, type VerifiedApiKey } from './api-key-cache';
import { ApiKeyLimiter } from './api-key-limiter';
import { LoginLimiter } from './login-limiter';
import {
  API_KEY_SCOPES,
  type AdminPrincipal,
  type ApiKeyScope,
  type Principal,
} from '@/infra/auth/principal';
import { StreamTickets } from './stream-tickets';

const LAST_USED_RESOLUTION_MS = 60_000;
// Verifying against this keeps a login for an unknown email as slow as one for a known email.
let dummyHash: Promise<string> | undefined;
const timingEqualiser = (): Promise<string> =>
  (dummyHash ??= hashPassword('timing-equaliser-not-a-password'));

const unauthenticated = (): DomainError => new DomainError('UNAUTHENTICATED', 'Invalid credentials.');
const tooManyKeyFailures = (waitMs: number): DomainError =>
  new DomainError('RATE_LIMITED', 'Too many failed API key authentications; try again later.', {
    retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)),
  });

@Injectable()
export class AuthService implements Authenticator {
  /**
   * API-key reads in flight, by prefix: requests that present a key while it is being read share
   * that read, so a busy key whose cache entry lapses costs one lookup, not one per request.
   */
  private readonly keyReads = new Map<string, Promise<VerifiedApiKey | null>>();
  /** Keys whose last-used stamp is being written: a concurrent request does not write it again. */
  private readonly touching = new Set<string>();

  constructor(
    private readonly organisations: OrganisationsRepository,
    private readonly apiKeys: ApiKeysRepository,
    private readonly sessions: SessionsRepository,
    private readonly tokens: AccessTokens,
    private readonly limiter: LoginLimiter,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly keyCache: ApiKeyCache,
    private readonly streamTickets: StreamTickets,
    private readonly keyLimiter: ApiKeyLimiter,
  ) {}

  /** Email + password -> access token + refresh token (a new session family). */
  async login(emailInput: string, password: string, source: string): Promise<SessionResponse> {
    const email = normaliseEmail(emailInput);
    await this.limiter.reserveAttempt(email, source);
    const user = await this.organisations.systemFindUserByEmail(email);
    const valid = await verifyPassword(password, user?.passwordHash ?? (await timingEqualiser()));
    if (!user || !valid || user.disabledAt !== null) throw unauthenticated();
    await this.limiter.recordSuccess(email, source);
    if (needsRehash(user.passwordHash)) {
      await this.organisations.updatePasswordHash(user.id, await hashPassword(password));
    }
    return this.openSession(user, randomUUID());
  }

  /**
   * Rotates the refresh token. A token used twice means it leaked: the whole family is revoked,
   * so both the thief and the owner must sign in again.
   */
  @Transactional()
  async refresh(refreshToken: string): Promise<SessionResponse> {
    if (!isOpaqueTokenFormat('rt', refreshToken)) throw unauthenticated();
    const record = await this.sessions.systemFindRefreshToken(hashOpaqueToken(refreshToken));
    const now = this.clock.now();
    if (!record || record.revokedAt !== null || record.expiresAt <= now) throw unauthenticated();
    if (record.usedAt !== null || !(await this.sessions.markRefreshTokenUsed(record.id, now))) {
      // Its own transaction: the revocation must survive the rollback of this one.
      await this.revokeFamilyIndependently(record.familyId);
      throw unauthenticated();
    }
    const user = await this.organisations.systemFindUser(record.userId);
    if (!user || user.disabledAt !== null) throw unauthenticated();
    return this.openSession(user, record.familyId);
  }

  @Transactional(Propagation.RequiresNew)
  private async revokeFamilyIndependently(familyId: string): Promise<void> {
    await this.sessions.revokeFamily(familyId, this.clock.now());
  }

  /** Ends the session family of this refresh token; unknown tokens are ignored. */
  @Transactional()
  async logout(refreshToken: string): Promise<void> {
    if (!isOpaqueTokenFormat('rt', refreshToken)) return;
    const record = await this.sessions.systemFindRefreshToken(hashOpaqueToken(refreshToken));
    if (record) await this.sessions.revokeFamily(record.familyId, this.clock.now());
  }

  /** Resolves a bearer credential (API key or access token), sent from `source` (client IP), to who is calling. */
  async authenticate(bearer: string, source: string): Promise<Principal | AdminPrincipal> {
    return bearer.startsWith('cx_')
      ? this.authenticateApiKey(bearer, source)
      : this.authenticateAccessToken(bearer);
  }

  /**
   * A stream ticket (docs/BROWSER.md) to the principal it was issued to, used up by this call.
   * The credential behind it is checked again as of now: a key revoked or a person disabled
   * since the ticket was issued opens no stream.
   */
  async authenticateStreamTicket(ticket: string): Promise<Principal> {
    const refused = (): DomainError =>
      new DomainError('UNAUTHENTICATED', 'The stream ticket is invalid, expired or already used.');
    const holder = await this.streamTickets.redeem(ticket);
    if (!holder) throw refused();
    const organisation = await this.organisations.findOrganisation(holder.organisationId);
    if (!organisation) throw refused();
    const context = {
      organisationId: organisation.id,
      organisationRole: organisation.role,
      organisationStatus: organisation.status,
    };
    if (holder.kind === 'api_key') {
      const key = await this.apiKeys.find(organisation.id, holder.apiKeyId);
      if (!key || key.revokedAt !== null || (key.expiresAt !== null && key.expiresAt <= this.clock.now())) {
        throw refused();
      }
      const scopes = key.scopes.filter((s): s is ApiKeyScope =>
        (API_KEY_SCOPES as readonly string[]).includes(s),
      );
      return { kind: 'api_key', apiKeyId: key.id, scopes, ...context };
    }
    const user = await this.organisations.systemFindUser(holder.userId);
    if (!user || user.disabledAt !== null || user.organisationId !== organisation.id) throw refused();
    return { kind: 'user', userId: user.id, userRole: user.role, ...context };
  }

  /**
   * A platform admin by user id, for credentials other than the access token that name one (the
   * queue dashboard's session cookie): still an admin, not disabled, or 401.
   */
  async authenticateAdminUser(userId: string): Promise<AdminPrincipal> {
    const user = await this.organisations.systemFindUser(userId);
    if (!user || user.disabledAt !== null || !user.isPlatformAdmin) {
      throw new DomainError('UNAUTHENTICATED', 'The session is invalid or expired.');
    }
    return { kind: 'admin', userId: user.id };
  }

  private async authenticateApiKey(candidate: string, source: string): Promise<Principal> {
    // The very key this process verified in the last API_KEY_CACHE_TTL_MS: no checksum, no hash.
    const known = this.keyCache.verified(candidate);
    // Malformed keys (typos, wrong checksum) are refused before any lookup.
    const parsed = known ?? parseApiKey(candidate);
    if (!parsed) throw new DomainError('UNAUTHENTICATED', 'The API key is malformed.');
    // A key verified in the last API_KEY_CACHE_TTL_MS is reused; another candidate's secret is still checked.
    const cached = known ?? this.keyCache.get(parsed.prefix);
    // Redis is asked only before a database read, so a cached key's success costs no round trip.
    const blockedMs = await this.keyLimiter.sourceBlockedFor(source, cached === undefined);
    if (blockedMs > 0) throw tooManyKeyFailures(blockedMs);
    const now = this.clock.now();
    const key = cached ?? (await this.readKey(parsed.prefix));
    if (
      !key ||
      (known === undefined &&
        !apiKeyMatches(candidate, this.config.secrets.API_KEY_PEPPER, Buffer.from(key.secretHash)))
    ) {
      const waitMs = await this.keyLimiter.recordFailure(source, parsed.prefix);
      if (waitMs > 0) throw tooManyKeyFailures(waitMs);
      throw new DomainError('UNAUTHENTICATED', 'The API key is not valid.');
    }
    if (key.revokedAt !== null) throw new DomainError('UNAUTHENTICATED', 'The API key has been revoked.');
    if (key.expiresAt !== null && key.expiresAt <= now) {
      throw new DomainError('UNAUTHENTICATED', 'The API key has expired.');
    }
    if (!cached) this.keyCache.remember(key, now, candidate);
    if (
      (key.lastUsedAt === null || now.getTime() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) &&
      !this.touching.has(key.id)
    ) {
      this.touching.add(key.id);
      try {
        await this.apiKeys.systemTouch(key.id, now);
        this.keyCache.touched(key.prefix, now);
      } finally {
        this.touching.delete(key.id);
      }
    }
    return {
      kind: 'api_key',
      apiKeyId: key.id,
      scopes: key.scopes.filter((s): s is ApiKeyScope => (API_KEY_SCOPES as readonly string[]).includes(s)),
      organisationId: key.organisation.id,
      organisationRole: key.organisation.role,
      organisationStatus: key.organisation.status,
    };
  }

  /** The key under `prefix` from the database, one read at a time per prefix (`keyReads`). */
  private readKey(prefix: string): Promise<VerifiedApiKey | null> {
    let read = this.keyReads.get(prefix);
    if (read === undefined) {
      read = this.apiKeys.systemFindByPrefix(prefix).finally(() => this.keyReads.delete(prefix));
      this.keyReads.set(prefix, read);
    }
    return read;
  }

  private async authenticateAccessToken(token: string): Promise<Principal | AdminPrincipal> {
    const claims = await this.tokens.verify(token, this.clock.now().getTime());
    // Part of the user read every such request makes: a signed-out or revoked session ends its
    // access tokens at once, on every API process, at no extra round trip.
    const user = await this.sessions.systemFindUserOfLiveSession(claims.sub, claims.sid);
    if (!user || user.disabledAt !== null) {
      throw new DomainError('UNAUTHENTICATED', 'The access token is invalid or expired.');
    }
    if (user.isPlatformAdmin) return { kind: 'admin', userId: user.id };
    const organisation = user.organisationId
      ? await this.organisations.findOrganisation(user.organisationId)
      : null;
    if (!organisation) throw new DomainError('UNAUTHENTICATED', 'The access token is invalid or expired.');
    return {
      kind: 'user',
      userId: user.id,
      userRole: user.role,
      organisationId: organisation.id,
      organisationRole: organisation.role,
      organisationStatus: organisation.status,
    };
  }

  @Transactional()
  private async openSession(user: UserRecord, familyId: string): Promise<SessionResponse> {
    const now = this.clock.now();
    const refreshToken = generateOpaqueToken('rt');
    await this.sessions.createRefreshToken({
      userId: user.id,
      familyId,
      tokenHash: hashOpaqueToken(refreshToken),
      at: now,
      expiresAt: new Date(now.getTime() + REFRESH_TOKEN_TTL_MS),
    });
    const accessToken = await this.tokens.issue(
      user.isPlatformAdmin
        ? { sub: user.id, sid: familyId, adm: true }
        : { sub: user.id, sid: familyId, ...(user.organisationId ? { org: user.organisationId } : {}) },
      now.getTime(),
    );
    return { accessToken, expiresIn: ACCESS_TOKEN_TTL_SECONDS, refreshToken };
  }
}
