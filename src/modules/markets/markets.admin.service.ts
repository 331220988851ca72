import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import type { MarketStatus, MatchingMode } from '@/generated/prisma/enums';
import { Clock } from '@/infra/clock/clock';
import { MARKET_SLUG_PATTERN } from '@/infra/http/field-validators';
import { DomainError } from '@/shared/domain-error';
import { AuditService } from '@/infra/audit/audit.service';
import { OutboxService } from '@/modules/events/outbox.service';
import type { AdminMarketListResponse, AdminMarketResponse } from './dto/admin-market.dto';
import { MarketsMapper } from './markets.mapper';
import { MarketsRepository, type MarketRecord } from './markets.repository';

/**
 * Platform admins' market controls: pause, resume, the fee and the matching mode. Each change is audited with the
 * admin as actor and records its event in the same transaction; restating the current state
 * changes nothing and records neither (idempotent by state, like verification).
 */
@Injectable()
export class MarketsAdminService {
  constructor(
    private readonly markets: MarketsRepository,
    private readonly audit: AuditService,
    private readonly outbox: OutboxService,
    private readonly clock: Clock,
  ) {}

  async listMarkets(): Promise<AdminMarketListResponse> {
    const markets = await this.markets.adminFindMarkets();
    return { data: markets.map((market) => MarketsMapper.adminMarket(market)) };
  }

  /** Matching stops at once: a run reading or committing sees PAUSED and fills nothing. */
  @Transactional()
  async pauseMarket(adminUserId: string, slug: string): Promise<AdminMarketResponse> {
    return this.changeStatus(adminUserId, slug, 'PAUSED');
  }

  /** `market.resumed` asks matching to run the market, so a book crossed meanwhile fills. */
  @Transactional()
  async resumeMarket(adminUserId: string, slug: string): Promise<AdminMarketResponse> {
    return this.changeStatus(adminUserId, slug, 'ACTIVE');
  }

  /**
   * Leases copy the fee when a run commits them, so the new fee applies to every lease committed
   * after this transaction and to none before (existing leases keep theirs).
   */
  @Transactional()
  async setMarketFee(adminUserId: string, slug: string, feeBps: number): Promise<AdminMarketResponse> {
    const market = await this.lockMarket(slug);
    if (market.feeBps !== feeBps) {
      const now = this.clock.now();
      await this.markets.adminSetFee(market.id, feeBps, now);
      await this.audit.record(
        adminUserId,
        'market.set_fee',
        { type: 'market', id: market.id },
        { market: market.slug, before: { feeBps: market.feeBps }, after: { feeBps } },
      );
      await this.outbox.record({
        type: 'market.fee_changed',
        aggregateType: 'market',
        aggregateId: market.id,
        payload: { market: market.slug, feeBps, previousFeeBps: market.feeBps, at: now.toISOString() },
      });
    }
    return this.current(market.id);
  }

  /**
   * A run reads the mode with the book, so the change applies from the market's next run or
   * clearing (docs/MATCHING.md "Call markets"). `callWindowMs` omitted keeps the current window.
   */
  @Transactional()
  async setMarketMatching(
    adminUserId: string,
    slug: string,
    matchingMode: MatchingMode,
    callWindowMs?: number,
  ): Promise<AdminMarketResponse> {
    const market = await this.lockMarket(slug);
    const window = callWindowMs ?? market.callWindowMs;
    if (market.matchingMode !== matchingMode || market.callWindowMs !== window) {
      const now = this.clock.now();
      const { callPhaseMs } = await this.markets.adminSetMatching(market.id, matchingMode, window, now);
      await this.audit.record(
        adminUserId,
        'market.set_matching',
        { type: 'market', id: market.id },
        {
          market: market.slug,
          before: { matchingMode: market.matchingMode, callWindowMs: market.callWindowMs },
          after: { matchingMode, callWindowMs: window },
        },
      );
      // Matching's trigger hears it: a clearing already waiting runs now after a switch to CONTINUOUS.
      await this.outbox.record({
        type: 'market.matching_changed',
        aggregateType: 'market',
        aggregateId: market.id,
        payload: {
          market: market.slug,
          matchingMode,
          callWindowMs: window,
          callPhaseMs,
          previousMatchingMode: market.matchingMode,
          previousCallWindowMs: market.callWindowMs,
          previousCallPhaseMs: market.callPhaseMs,
          at: now.toISOString(),
        },
      });
    }
    return this.current(market.id);
  }

  private async changeStatus(
    adminUserId: string,
    slug: string,
    status: MarketStatus,
  ): Promise<AdminMarketResponse> {
    const market = await this.lockMarket(slug);
    if (market.status !== status) {
      const now = this.clock.now();
      await this.markets.adminSetStatus(market.id, status, now);
      await this.audit.record(
        adminUserId,
        status === 'PAUSED' ? 'market.pause' : 'market.resume',
        { type: 'market', id: market.id },
        { market: market.slug, before: { status: market.status }, after: { status } },
      );
      await this.outbox.record({
        type: status === 'PAUSED' ? 'market.paused' : 'market.resumed',
        aggregateType: 'market',
        aggregateId: market.id,
        payload: { market: market.slug, status, at: now.toISOString() },
      });
    }
    return this.current(market.id);
  }

  // Locked until commit: two admins changing one market decide one after the other.
  private async lockMarket(slug: string): Promise<MarketRecord> {
    const market = MARKET_SLUG_PATTERN.test(slug) ? await this.markets.adminLockMarketBySlug(slug) : null;
    if (!market) throw new DomainError('NOT_FOUND', 'Market not found.');
    return market;
  }

  private async current(id: string): Promise<AdminMarketResponse> {
    const market = await this.markets.adminFindMarket(id);
    if (!market) throw new DomainError('NOT_FOUND', 'Market not found.');
    return MarketsMapper.adminMarket(market);
  }
}
