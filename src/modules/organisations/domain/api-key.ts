import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type ApiKeyEnvironment = 'live' | 'test';

export interface GeneratedApiKey {
  /** The full key, shown to the user once and never stored. */
  key: string;
  /** Public lookup prefix `cx_<env>_<id>`, stored in the `prefix` column (unique). */
  prefix: string;
  /** Last four characters, stored for display as `cx_live_<id>_…wxyz`. */
  lastFour: string;
}

export interface ParsedApiKey {
  prefix: string;
  env: ApiKeyEnvironment;
}

/** Every well-formed key is exactly this long: `cx_live_` + 12 + `_` + 43 + 6. */
export const API_KEY_LENGTH = 70;
/** Its public prefix `cx_<env>_<id>` is the first this many characters (`live` and `test` are both 4). */
export const API_KEY_PREFIX_LENGTH = 20;
/** The peppers the config generates or accepts are at least this long. */
export const API_KEY_PEPPER_MIN_LENGTH = 32;

const BASE32_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const ID_LENGTH = 12;
const SECRET_BYTES = 32;
const CHECK_LENGTH = 6;
const HASH_BYTES = 32;
// 43 base64url chars hold 256 bits, so the last one can only be one of 16 letters with 2 zero bits.
const API_KEY_PATTERN = /^(cx_(live|test)_[a-z2-7]{12})_[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048][A-Za-z0-9_-]{6}$/;

/** Mints a key `cx_<env>_<id>_<secret><check>`: 60-bit public id, 256-bit secret, 36-bit checksum. */
export function generateApiKey(env: ApiKeyEnvironment): GeneratedApiKey {
  // 256 is a multiple of 32, so masking each byte keeps the letters uniform.
  const id = Array.from(randomBytes(ID_LENGTH), (byte) => BASE32_ALPHABET[byte & 31]).join('');
  const prefix = `cx_${env}_${id}`;
  const body = `${prefix}_${randomBytes(SECRET_BYTES).toString('base64url')}`;
  const key = `${body}${checksumOf(body)}`;
  return { key, prefix, lastFour: key.slice(-4) };
}

/**
 * Checks a candidate's shape and checksum without any lookup; returns its prefix, or null for
 * anything malformed (wrong type, length, alphabet, environment or checksum).
 */
export function parseApiKey(candidate: unknown): ParsedApiKey | null {
  // The length check runs first so no pattern ever sees oversized input.
  if (typeof candidate !== 'string' || candidate.length !== API_KEY_LENGTH) return null;
  const match = API_KEY_PATTERN.exec(candidate);
  const prefix = match?.[1];
  const env = match?.[2];
  if (prefix === undefined || (env !== 'live' && env !== 'test')) return null;
  const body = candidate.slice(0, API_KEY_LENGTH - CHECK_LENGTH);
  // The checksum is derived from the key itself, so comparing it in variable time leaks nothing.
  if (candidate.slice(API_KEY_LENGTH - CHECK_LENGTH) !== checksumOf(body)) return null;
  return { prefix, env };
}

/** The value stored for a key: HMAC-SHA-256 under the pepper, so a leaked table alone verifies nothing. */
export function hashApiKey(key: string, pepper: string): Buffer {
  if (pepper.length < API_KEY_PEPPER_MIN_LENGTH) {
    throw new RangeError(`API key pepper must be at least ${API_KEY_PEPPER_MIN_LENGTH} characters`);
  }
  return createHmac('sha256', pepper).update(key, 'utf8').digest();
}

/** Compares a presented key with a stored hash in constant time. */
export function apiKeyMatches(key: string, pepper: string, storedHash: Buffer): boolean {
  const presented = hashApiKey(key, pepper);
  // timingSafeEqual throws on unequal lengths; a stored hash of the wrong size matches nothing.
  return storedHash.length === HASH_BYTES && timingSafeEqual(presented, storedHash);
}

function checksumOf(body: string): string {
  return createHash('sha256').update(body, 'utf8').digest('base64url').slice(0, CHECK_LENGTH);
}
