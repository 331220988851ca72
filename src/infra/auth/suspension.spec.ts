import { DomainError } from '@/shared/domain-error';
import { assertNotSuspended, ORGANISATION_SUSPENDED, reinstatedStatus } from './suspension';

describe('suspension rules', () => {
  it('refuses writes of suspended organisations only, with 403 and the reason', () => {
    expect(() => assertNotSuspended('VERIFIED')).not.toThrow();
    expect(() => assertNotSuspended('PENDING_VERIFICATION')).not.toThrow();
    let caught: unknown;
    try {
      assertNotSuspended('SUSPENDED');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DomainError);
    expect((caught as DomainError).status).toBe(403);
    expect((caught as DomainError).details).toEqual({ reason: ORGANISATION_SUSPENDED });
  });

  it('reinstates to the status before suspension: verified only if it had been verified', () => {
    expect(reinstatedStatus({ verifiedAt: new Date('2026-12-01T00:00:00Z') })).toBe('VERIFIED');
    expect(reinstatedStatus({ verifiedAt: null })).toBe('PENDING_VERIFICATION');
  });
});
