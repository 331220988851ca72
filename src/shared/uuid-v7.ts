import { randomBytes } from 'node:crypto';

/**
 * A UUID version 7 (RFC 9562) for instant `at`: 48-bit Unix milliseconds, then random bits. The
 * same ids Prisma's `@default(uuid(7))` mints, for rows written by raw SQL; the caller passes
 * the Clock's instant, since nothing here reads the system time.
 */
export function uuidV7(at: Date): string {
  const bytes = randomBytes(16);
  const ms = at.getTime();
  // 48 bits do not fit a 32-bit shift: write the high 16 bits and the low 32 bits separately.
  bytes.writeUInt16BE(Math.floor(ms / 2 ** 32) & 0xffff, 0);
  bytes.writeUInt32BE((ms % 2 ** 32) >>> 0, 2);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
