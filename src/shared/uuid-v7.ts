import { randomFillSync } from 'node:crypto';

/** Random bytes an id takes: 74 random bits (RFC 9562's rand_a and rand_b) fit in 10 bytes. */
const RANDOM_BYTES = 10;
/**
 * Ids' random bytes drawn ahead, 256 ids at a time: one call into the CSPRNG per refill rather
 * than a `randomBytes` Buffer per id (a commit mints several ids per fill). Each byte is used once.
 */
const pool = Buffer.alloc(RANDOM_BYTES * 256);
let next = pool.length;
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/**
 * A UUID version 7 (RFC 9562) for instant `at`: 48-bit Unix milliseconds, then random bits. The
 * same ids Prisma's `@default(uuid(7))` mints, for rows written by raw SQL; the caller passes
 * the Clock's instant, since nothing here reads the system time.
 */
export function uuidV7(at: Date): string {
  if (next + RANDOM_BYTES > pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  const r = next;
  next += RANDOM_BYTES;
  const ms = at.getTime();
  // 48 bits do not fit a 32-bit shift: the high 16 bits and the low 32 bits separately.
  const high = Math.floor(ms / 2 ** 32) & 0xffff;
  const low = (ms % 2 ** 32) >>> 0;
  return (
    HEX[high >>> 8]! +
    HEX[high & 0xff]! +
    HEX[low >>> 24]! +
    HEX[(low >>> 16) & 0xff]! +
    '-' +
    HEX[(low >>> 8) & 0xff]! +
    HEX[low & 0xff]! +
    '-' +
    // Version 7, then variant 0b10.
    HEX[(pool[r]! & 0x0f) | 0x70]! +
    HEX[pool[r + 1]!]! +
    '-' +
    HEX[(pool[r + 2]! & 0x3f) | 0x80]! +
    HEX[pool[r + 3]!]! +
    '-' +
    HEX[pool[r + 4]!]! +
    HEX[pool[r + 5]!]! +
    HEX[pool[r + 6]!]! +
    HEX[pool[r + 7]!]! +
    HEX[pool[r + 8]!]! +
    HEX[pool[r + 9]!]!
  );
}
