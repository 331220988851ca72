import { createHmac, timingSafeEqual } from 'node:crypto';
import { DomainError } from './domain-error';

export const PAGE_SIZE_DEFAULT = 20;
export const PAGE_SIZE_MAX = 100;

/** Longest cursor accepted or produced; keeps query strings and parsing cost small. */
export const CURSOR_MAX_LENGTH = 512;

const MAC_BYTES = 16;
const MIN_KEY_BYTES = 32;
// Domain separation: the MAC of a cursor can never be mistaken for any other HMAC under the key.
const MAC_LABEL = 'cx-cursor-v1.';
const CURSOR_PATTERN = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{22})$/;

/**
 * Encodes a page position as `base64url(JSON).base64url(HMAC-SHA-256[0..16))`. Keys are sorted
 * and numbers become strings, so `decodeCursor` returns strings and equal positions give equal
 * cursors.
 */
export function encodeCursor(position: Record<string, string | number>, key: Buffer): string {
  assertKey(key);
  const normalised: Record<string, string> = {};
  for (const field of Object.keys(position).sort()) {
    const value = position[field];
    const valid = typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
    if (!valid) throw new RangeError(`cursor field ${field} must be a string or a finite number`);
    normalised[field] = String(value);
  }
  const payload = Buffer.from(JSON.stringify(normalised), 'utf8').toString('base64url');
  const cursor = `${payload}.${sign(payload, key).toString('base64url')}`;
  if (cursor.length > CURSOR_MAX_LENGTH) {
    throw new RangeError(`cursor would be ${cursor.length} characters, over ${CURSOR_MAX_LENGTH}`);
  }
  return cursor;
}

/**
 * Decodes a cursor made by `encodeCursor` with the same key and exactly the fields in `shape`.
 * Anything else, tampered or malformed, is a 400 that reveals nothing about why.
 */
export function decodeCursor(cursor: unknown, key: Buffer, shape: readonly string[]): Record<string, string> {
  assertKey(key);
  if (typeof cursor !== 'string' || cursor.length > CURSOR_MAX_LENGTH) throw invalidCursor();
  const parts = CURSOR_PATTERN.exec(cursor);
  const payload = parts?.[1];
  const mac = parts?.[2];
  if (payload === undefined || mac === undefined) throw invalidCursor();
  const macBytes = decodeBase64Url(mac);
  // The MAC is checked before the payload is parsed, so untrusted JSON is never read.
  if (macBytes === null || macBytes.length !== MAC_BYTES || !timingSafeEqual(macBytes, sign(payload, key))) {
    throw invalidCursor();
  }
  const payloadBytes = decodeBase64Url(payload);
  if (payloadBytes === null) throw invalidCursor();
  let parsed: unknown;
  try {
    parsed = JSON.parse(payloadBytes.toString('utf8'));
  } catch {
    throw invalidCursor();
  }
  return readPosition(parsed, shape);
}

function readPosition(parsed: unknown, shape: readonly string[]): Record<string, string> {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalidCursor();
  const record = parsed as Record<string, unknown>;
  // A cursor minted for another listing with other fields must not be replayed here.
  if (Object.keys(record).length !== new Set(shape).size) throw invalidCursor();
  const position: Record<string, string> = {};
  for (const field of shape) {
    const value = Object.prototype.hasOwnProperty.call(record, field) ? record[field] : undefined;
    if (typeof value !== 'string') throw invalidCursor();
    position[field] = value;
  }
  return position;
}

function sign(payload: string, key: Buffer): Buffer {
  return createHmac('sha256', key).update(MAC_LABEL).update(payload).digest().subarray(0, MAC_BYTES);
}

// Node's base64url decoder skips bad characters silently; re-encoding proves the text was canonical.
function decodeBase64Url(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : null;
}

function assertKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length < MIN_KEY_BYTES) {
    throw new RangeError(`cursor key must be at least ${MIN_KEY_BYTES} bytes`);
  }
}

function invalidCursor(): DomainError {
  return new DomainError('BAD_REQUEST', 'cursor is invalid', { field: 'cursor' });
}
