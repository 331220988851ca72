import { isUUID } from 'class-validator';
import { uuidV7 } from './uuid-v7';

describe('uuidV7', () => {
  const at = new Date('2026-12-01T08:00:00.123Z');

  it('is a version 7, RFC 9562 variant UUID', () => {
    const id = uuidV7(at);
    expect(isUUID(id, 7)).toBe(true);
    expect(id[14]).toBe('7');
    expect(['8', '9', 'a', 'b']).toContain(id[19]);
  });

  it('carries the instant in its first 48 bits, so ids sort by time across milliseconds', () => {
    const id = uuidV7(at);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at.getTime());
    const later = uuidV7(new Date(at.getTime() + 1));
    expect(later > id).toBe(true);
  });

  it('differs on every call within one millisecond', () => {
    const ids = new Set(Array.from({ length: 1_000 }, () => uuidV7(at)));
    expect(ids.size).toBe(1_000);
  });

  it('keeps its version, variant and instant across refills of its random bytes', () => {
    const later = new Date(2 ** 47 + 12_345);
    for (const id of Array.from({ length: 600 }, () => uuidV7(later))) {
      expect(isUUID(id, 7)).toBe(true);
      expect(['8', '9', 'a', 'b']).toContain(id[19]);
      expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(later.getTime());
    }
  });
});
