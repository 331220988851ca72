import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { DomainError } from '@/shared/domain-error';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 256;

interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

interface DecodedHash extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

/** Current cost: 32 MiB and roughly 50-120 ms per hash, memory-hard without a native dependency. */
const CURRENT: ScryptParams = { N: 2 ** 15, r: 8, p: 1 };
const SALT_BYTES = 16;
const KEY_BYTES = 32;
// Bounds on stored parameters, so a corrupted or tampered row cannot make verification eat the host.
const MAX_MEMORY_BYTES = 256 * 1024 * 1024;
const MIN_LOG2_N = 10;
const MAX_LOG2_N = 20;
const MAX_R = 16;
const MAX_P = 16;
const MIN_STORED_BYTES = 16;
const MAX_STORED_BYTES = 64;
const DECIMAL = /^[1-9]\d{0,7}$/;
const BASE64 = /^[A-Za-z0-9+/]+$/;

/** Hashes a password to `scrypt$N$r$p$salt$hash` (unpadded base64), which carries its own parameters. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await deriveKey(password, salt, CURRENT, KEY_BYTES);
  return `scrypt$${CURRENT.N}$${CURRENT.r}$${CURRENT.p}$${toBase64(salt)}$${toBase64(hash)}`;
}

/** Checks a password against a stored encoding in constant time; a malformed encoding verifies nothing. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const stored = decodeHash(encoded);
  if (stored === null || typeof password !== 'string') return false;
  const candidate = await deriveKey(password, stored.salt, stored, stored.hash.length);
  return timingSafeEqual(candidate, stored.hash);
}

/** True when a stored hash is malformed or cheaper than the current parameters; rehash after login. */
export function needsRehash(encoded: string): boolean {
  const stored = decodeHash(encoded);
  if (stored === null) return true;
  return (
    stored.N < CURRENT.N ||
    stored.r < CURRENT.r ||
    stored.p < CURRENT.p ||
    stored.salt.length < SALT_BYTES ||
    stored.hash.length < KEY_BYTES
  );
}

/**
 * Accepts a new password of 12 to 256 Unicode characters that is not one character repeated;
 * returns it unchanged, or throws VALIDATION_FAILED naming the field.
 */
export function validatePasswordPolicy(password: unknown): string {
  if (typeof password !== 'string') throw policyError('password must be a string');
  // Each code point takes at most two UTF-16 units, so this bounds the work below.
  if (password.length > PASSWORD_MAX_LENGTH * 2) throw tooLong();
  // A lone surrogate becomes U+FFFD in UTF-8, so distinct passwords would hash alike.
  if (/\p{Cs}/u.test(password)) throw policyError('password must be valid Unicode text');
  const codePoints = [...password];
  if (codePoints.length < PASSWORD_MIN_LENGTH) {
    throw policyError(`password must be at least ${PASSWORD_MIN_LENGTH} characters`);
  }
  if (codePoints.length > PASSWORD_MAX_LENGTH) throw tooLong();
  if (codePoints.every((codePoint) => codePoint === codePoints[0])) {
    throw policyError('password must not be a single repeated character');
  }
  return password;
}

function deriveKey(password: string, salt: Buffer, params: ScryptParams, keyLength: number): Promise<Buffer> {
  // NFKC makes the same password typed on different keyboards or IMEs hash alike (NIST SP 800-63B).
  const secret = Buffer.from(password.normalize('NFKC'), 'utf8');
  // scrypt needs 128·N·r bytes plus a little; Node's 32 MiB default would refuse N=2^15, r=8.
  const maxmem = 256 * params.N * params.r;
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keyLength, { N: params.N, r: params.r, p: params.p, maxmem }, (error, key) => {
      if (error === null) resolve(key);
      else reject(error);
    });
  });
}

function decodeHash(encoded: unknown): DecodedHash | null {
  if (typeof encoded !== 'string' || encoded.length > 512) return null;
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [, nText, rText, pText, saltText, hashText] = parts;
  const N = parseDecimal(nText);
  const r = parseDecimal(rText);
  const p = parseDecimal(pText);
  const salt = fromBase64(saltText);
  const hash = fromBase64(hashText);
  if (N === null || r === null || p === null || salt === null || hash === null) return null;
  const log2N = Math.log2(N);
  const validParams =
    Number.isInteger(log2N) &&
    log2N >= MIN_LOG2_N &&
    log2N <= MAX_LOG2_N &&
    r <= MAX_R &&
    p <= MAX_P &&
    128 * N * r <= MAX_MEMORY_BYTES;
  const validSizes = [salt, hash].every(
    (bytes) => bytes.length >= MIN_STORED_BYTES && bytes.length <= MAX_STORED_BYTES,
  );
  return validParams && validSizes ? { N, r, p, salt, hash } : null;
}

function parseDecimal(text: string | undefined): number | null {
  return text !== undefined && DECIMAL.test(text) ? Number(text) : null;
}

function toBase64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

// Node's decoder skips bad characters silently; re-encoding proves the text was canonical.
function fromBase64(text: string | undefined): Buffer | null {
  if (text === undefined || !BASE64.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return toBase64(bytes) === text ? bytes : null;
}

function tooLong(): DomainError {
  return policyError(`password must be at most ${PASSWORD_MAX_LENGTH} characters`);
}

function policyError(message: string): DomainError {
  return new DomainError('VALIDATION_FAILED', message, { field: 'password' });
}
