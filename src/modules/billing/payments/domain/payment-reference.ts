import { randomInt } from 'node:crypto';

// Crockford's base32 without I, L, O and U: no letters a payer can misread as digits.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const LENGTH = 10;

/** A payment reference such as `CX7K2M9Q4T0B`: short enough to type into a bank's memo field. */
export function newPaymentReference(): string {
  let reference = 'CX';
  for (let i = 0; i < LENGTH; i += 1) reference += ALPHABET[randomInt(ALPHABET.length)];
  return reference;
}
