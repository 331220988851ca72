import { DomainError } from '@/shared/domain-error';
import {
  assertAcceptsOrders,
  assertLiveOrderCapacity,
  assertMayTrade,
  assertSiteCapacity,
  MAX_LIVE_ORDERS_PER_ORGANISATION,
  MAX_SITES_PER_ORGANISATION,
} from './trading-rules';

function caught(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError');
}

describe('trading rules', () => {
  it('allows orders up to the cap and refuses the next with a stated reason', () => {
    expect(() => assertLiveOrderCapacity(0)).not.toThrow();
    expect(() => assertLiveOrderCapacity(MAX_LIVE_ORDERS_PER_ORGANISATION - 1)).not.toThrow();
    const error = caught(() => assertLiveOrderCapacity(MAX_LIVE_ORDERS_PER_ORGANISATION));
    expect(error.code).toBe('CONFLICT');
    expect(error.details).toEqual({ reason: 'OPEN_ORDER_LIMIT', limit: MAX_LIVE_ORDERS_PER_ORGANISATION });
  });

  it('caps sites per organisation', () => {
    expect(() => assertSiteCapacity(MAX_SITES_PER_ORGANISATION - 1)).not.toThrow();
    expect(caught(() => assertSiteCapacity(MAX_SITES_PER_ORGANISATION)).details).toMatchObject({
      reason: 'SITE_LIMIT',
    });
  });

  it('keeps suspended organisations read-only', () => {
    expect(() => assertMayTrade('VERIFIED')).not.toThrow();
    expect(() => assertMayTrade('PENDING_VERIFICATION')).not.toThrow();
    expect(caught(() => assertMayTrade('SUSPENDED')).code).toBe('FORBIDDEN');
  });

  it('takes new orders only in active markets', () => {
    expect(() => assertAcceptsOrders({ slug: 'm', status: 'ACTIVE' })).not.toThrow();
    const error = caught(() => assertAcceptsOrders({ slug: 'm', status: 'PAUSED' }));
    expect(error.code).toBe('CONFLICT');
    expect(error.details).toEqual({ reason: 'MARKET_PAUSED', market: 'm' });
  });
});
