import { scryptSync } from 'node:crypto';
import { DomainError } from '@/shared/domain-error';
import { hashPassword, needsRehash, validatePasswordPolicy, verifyPassword } from './password-hasher';

const password = 'correct horse battery staple';

// Builds an encoding with chosen (cheap) parameters, as an older release might have stored.
function encodeWith(secret: string, N: number, r: number, p: number, saltBytes = 16, keyBytes = 32): string {
  const salt = Buffer.alloc(saltBytes, 3);
  const hash = scryptSync(secret.normalize('NFKC'), salt, keyBytes, { N, r, p });
  const b64 = (bytes: Buffer): string => bytes.toString('base64').replace(/=+$/, '');
  return `scrypt$${N}$${r}$${p}$${b64(salt)}$${b64(hash)}`;
}

function policyFailure(value: unknown): DomainError {
  try {
    validatePasswordPolicy(value);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected the policy to refuse the password');
}

describe('hashPassword and verifyPassword', () => {
  let encoded: string;

  beforeAll(async () => {
    encoded = await hashPassword(password);
  });

  it('produces a self-describing scrypt string with current parameters', () => {
    expect(encoded).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    const [, , , , salt, hash] = encoded.split('$') as [string, string, string, string, string, string];
    const saltBytes = Buffer.from(salt, 'base64');
    expect(saltBytes).toHaveLength(16);
    // An independent derivation proves the string means exactly what it says.
    const expected = scryptSync(password, saltBytes, 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    expect(Buffer.from(hash, 'base64')).toEqual(expected);
  });

  it('verifies the right password and refuses others', async () => {
    await expect(verifyPassword(password, encoded)).resolves.toBe(true);
    await expect(verifyPassword(`${password}!`, encoded)).resolves.toBe(false);
    await expect(verifyPassword('Correct horse battery staple', encoded)).resolves.toBe(false);
  });

  it('salts every hash', async () => {
    const again = await hashPassword(password);
    expect(again).not.toBe(encoded);
    expect(again.split('$')[4]).not.toBe(encoded.split('$')[4]);
  });

  it('treats canonically equivalent spellings as the same password', async () => {
    const decomposed = 'cafe\u0301 au lait, s\u0301il vous plai\u0302t';
    const stored = await hashPassword(decomposed);
    await expect(verifyPassword(decomposed.normalize('NFC'), stored)).resolves.toBe(true);
    // Full-width letters from an IME fold to ASCII under NFKC.
    await expect(verifyPassword('ｃａｆｅ\u0301 au lait, s\u0301il vous plai\u0302t', stored)).resolves.toBe(
      true,
    );
  });

  it('verifies hashes stored with older, cheaper parameters', async () => {
    const legacy = encodeWith(password, 1024, 8, 1);
    await expect(verifyPassword(password, legacy)).resolves.toBe(true);
    await expect(verifyPassword('wrong password!', legacy)).resolves.toBe(false);
    const shortKey = encodeWith(password, 1024, 4, 2, 16, 16);
    await expect(verifyPassword(password, shortKey)).resolves.toBe(true);
  });

  it('returns false, without throwing, for malformed encodings', async () => {
    const legacy = encodeWith(password, 1024, 8, 1);
    const [, , , , salt, hash] = legacy.split('$') as [string, string, string, string, string, string];
    const malformed: unknown[] = [
      '',
      'scrypt',
      'not-a-hash',
      `argon2id$1024$8$1$${salt}$${hash}`,
      `SCRYPT$1024$8$1$${salt}$${hash}`,
      `scrypt$1024$8$1$${salt}`,
      `scrypt$1024$8$1$${salt}$${hash}$extra`,
      `scrypt$1000$8$1$${salt}$${hash}`,
      `scrypt$0$8$1$${salt}$${hash}`,
      `scrypt$512$8$1$${salt}$${hash}`,
      `scrypt$2097152$8$1$${salt}$${hash}`,
      `scrypt$1048576$16$1$${salt}$${hash}`,
      `scrypt$01024$8$1$${salt}$${hash}`,
      `scrypt$1024$0$1$${salt}$${hash}`,
      `scrypt$1024$8$0$${salt}$${hash}`,
      `scrypt$1024$8$17$${salt}$${hash}`,
      `scrypt$1024$-8$1$${salt}$${hash}`,
      `scrypt$1024$8.0$1$${salt}$${hash}`,
      `scrypt$1e3$8$1$${salt}$${hash}`,
      `scrypt$1024$8$1$$${hash}`,
      `scrypt$1024$8$1$${salt}$`,
      `scrypt$1024$8$1$${salt}==$${hash}`,
      `scrypt$1024$8$1$${salt}$${hash}=`,
      `scrypt$1024$8$1$${salt.replace(/[A-Za-z]/, '-')}$${hash}`,
      `scrypt$1024$8$1$${salt}$${hash.slice(0, -1)}`,
      `scrypt$1024$8$1$QUJD$${hash}`,
      `scrypt$1024$8$1$${salt}$${'A'.repeat(100)}`,
      `scrypt$1024$8$1$${salt}$${hash} `,
      'scrypt$' + 'A'.repeat(1000),
      undefined,
      null,
      42,
    ];
    for (const value of malformed) {
      await expect(verifyPassword(password, value as string)).resolves.toBe(false);
    }
    await expect(verifyPassword(undefined as unknown as string, legacy)).resolves.toBe(false);
  });
});

describe('needsRehash', () => {
  it('is false for the current parameters and stronger ones', async () => {
    expect(needsRehash(await hashPassword('another long password'))).toBe(false);
    const stronger = `scrypt$65536$8$2$${'A'.repeat(22)}$${'A'.repeat(43)}`;
    expect(needsRehash(stronger)).toBe(false);
  });

  it('is true for weaker parameters, short salts or keys, and malformed strings', () => {
    const salt16 = 'A'.repeat(22);
    const salt24 = 'A'.repeat(32);
    const key32 = 'A'.repeat(43);
    const key16 = 'A'.repeat(22);
    expect(needsRehash(`scrypt$16384$8$1$${salt16}$${key32}`)).toBe(true);
    expect(needsRehash(`scrypt$32768$4$1$${salt16}$${key32}`)).toBe(true);
    expect(needsRehash(`scrypt$32768$8$1$${salt16}$${key16}`)).toBe(true);
    expect(needsRehash(`scrypt$32768$8$1$${salt24}$${key32}`)).toBe(false);
    expect(needsRehash('')).toBe(true);
    expect(needsRehash('$2b$12$abcdefghijklmnopqrstuv')).toBe(true);
  });
});

describe('validatePasswordPolicy', () => {
  it('returns an acceptable password unchanged', () => {
    expect(validatePasswordPolicy(password)).toBe(password);
    expect(validatePasswordPolicy('a'.repeat(11) + 'b')).toBe('aaaaaaaaaaab');
    expect(validatePasswordPolicy('x'.repeat(255) + 'y')).toHaveLength(256);
    expect(validatePasswordPolicy('  spaces  ok  ')).toBe('  spaces  ok  ');
  });

  it('refuses non-strings', () => {
    for (const value of [undefined, null, 123456789012, ['correct horse battery'], { password }]) {
      const error = policyFailure(value);
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.status).toBe(400);
      expect(error.message).toBe('password must be a string');
      expect(error.details).toEqual({ field: 'password' });
    }
  });

  it('counts Unicode code points, not UTF-16 units', () => {
    // Six astral emoji are twelve UTF-16 units but only six characters.
    expect(policyFailure('😀😁😂🤣😃😄').message).toBe('password must be at least 12 characters');
    const twelveEmoji = '😀😁😂🤣😃😄😅😆😉😊😋😎';
    expect(validatePasswordPolicy(twelveEmoji)).toBe(twelveEmoji);
    expect(validatePasswordPolicy('密码'.repeat(6))).toBe('密码密码密码密码密码密码');
    // 256 astral characters are 512 UTF-16 units and still allowed; 257 are not.
    const astral = '😀😁'.repeat(128);
    expect(validatePasswordPolicy(astral)).toBe(astral);
    expect(policyFailure(`${astral}😀`).message).toBe('password must be at most 256 characters');
  });

  it('enforces the length bounds', () => {
    expect(policyFailure('').message).toBe('password must be at least 12 characters');
    expect(policyFailure('abcdefghijk').message).toBe('password must be at least 12 characters');
    expect(policyFailure('x'.repeat(256) + 'y').message).toBe('password must be at most 256 characters');
    expect(policyFailure('xy'.repeat(1_000_000)).message).toBe('password must be at most 256 characters');
  });

  it('refuses a single repeated character', () => {
    for (const value of ['a'.repeat(12), ' '.repeat(40), '😀'.repeat(12), '密'.repeat(256)]) {
      expect(policyFailure(value).message).toBe('password must not be a single repeated character');
    }
  });

  it('refuses lone surrogates, which would hash like other passwords', () => {
    expect(policyFailure('correct horse \uD800 battery').message).toBe('password must be valid Unicode text');
    expect(policyFailure('correct horse \uDC00 battery').message).toBe('password must be valid Unicode text');
  });
});
