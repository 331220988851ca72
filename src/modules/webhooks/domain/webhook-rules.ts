import { randomBytes } from 'node:crypto';

/** Attempts of one delivery run before it is FAILED (the first try and 11 retries). */
export const WEBHOOK_ATTEMPTS = 12;

/** Endpoints one organisation may register. */
export const MAX_WEBHOOK_ENDPOINTS = 20;

/**
 * Delay before the retry that follows attempt `attemptsMade` (1-based): base, 2 x base,
 * 4 x base, ... With the default 30 s base the 11 retries span about 17 hours.
 */
export function retryDelayMs(attemptsMade: number, baseMs: number): number {
  return baseMs * 2 ** Math.max(0, attemptsMade - 1);
}

/** A Standard Webhooks signing secret: `whsec_` and 24 random bytes in base64. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

/**
 * The authenticated context a signing secret is encrypted under (DataCipher): its
 * organisation, so a ciphertext copied onto another organisation's endpoint does not decrypt.
 */
export function secretContext(organisationId: string): string {
  return `webhook-secret:${organisationId}`;
}

/** 2xx only: a redirect is not followed, so it is a failure like any other answer. */
export function isDelivered(status: number | undefined): boolean {
  return status !== undefined && status >= 200 && status < 300;
}
