import { createHash, randomBytes } from 'node:crypto';

/** `rt`: refresh token; `inv`: invitation token; `st`: live-stream ticket. */
export type OpaqueTokenKind = 'rt' | 'inv' | 'st';

const TOKEN_BYTES = 32;
// 43 base64url chars hold 256 bits, so the last one can only be one of 16 letters with 2 zero bits.
const PATTERNS: Record<OpaqueTokenKind, RegExp> = {
  rt: /^cxrt_[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/,
  inv: /^cxinv_[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/,
  st: /^cxst_[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/,
};
const LENGTHS: Record<OpaqueTokenKind, number> = { rt: 48, inv: 49, st: 48 };

/** Mints `cx<kind>_` followed by 256 random bits in base64url; the kind stops one token passing as another. */
export function generateOpaqueToken(kind: OpaqueTokenKind): string {
  return `cx${kind}_${randomBytes(TOKEN_BYTES).toString('base64url')}`;
}

/**
 * The value stored for a token: plain SHA-256. A 256-bit random token cannot be guessed from its
 * hash, so neither a pepper nor a slow hash adds anything, and lookups stay a unique-index probe.
 */
export function hashOpaqueToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** True only for a string shaped exactly like a token of `kind`; checked before any lookup. */
export function isOpaqueTokenFormat(kind: OpaqueTokenKind, candidate: unknown): candidate is string {
  // The length check runs first so no pattern ever sees oversized input.
  return (
    typeof candidate === 'string' && candidate.length === LENGTHS[kind] && PATTERNS[kind].test(candidate)
  );
}
