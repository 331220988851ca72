import { AppConfig } from '@/infra/config/app-config';
import { DataCipher } from './data-cipher';

const cipherWith = (fill: number): DataCipher =>
  new DataCipher({
    secrets: { DATA_ENCRYPTION_KEY: Buffer.alloc(32, fill).toString('base64') },
  } as AppConfig);

describe('DataCipher', () => {
  const cipher = cipherWith(7);

  it('round-trips, and never writes the same bytes twice', () => {
    const a = cipher.encrypt('{"token":"s3cret"}', 'lease-1');
    const b = cipher.encrypt('{"token":"s3cret"}', 'lease-1');
    expect(a.equals(b)).toBe(false);
    expect(a.includes(Buffer.from('s3cret'))).toBe(false);
    expect(cipher.decrypt(a, 'lease-1')).toBe('{"token":"s3cret"}');
  });

  it('refuses another context, another key and tampered bytes', () => {
    const sealed = cipher.encrypt('secret', 'lease-1');
    expect(() => cipher.decrypt(sealed, 'lease-2')).toThrow();
    expect(() => cipherWith(8).decrypt(sealed, 'lease-1')).toThrow();
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    expect(() => cipher.decrypt(tampered, 'lease-1')).toThrow();
    expect(() => cipher.decrypt(Buffer.from([9, 1, 2]), 'lease-1')).toThrow(/unknown layout/);
  });
});
