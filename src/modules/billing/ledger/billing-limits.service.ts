import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { Clock } from '@/infra/clock/clock';
import { formatMoney, parseMoney } from '@/shared/money';
import type { OrganisationContext } from '@/infra/auth/principal';
import {
  BillingLimitsRepository,
  type BillingLimitsRecord,
  type LimitField,
} from './billing-limits.repository';
import { Currencies } from '@/modules/billing/currencies/currencies.service';
import { committedSpend, spendPeriodOf, SPEND_PERIOD_TIME_ZONE } from './domain/billing-limits';
import type {
  CurrencyQuery,
  LowBalanceThresholdResponse,
  SetLimitDto,
  SpendCapResponse,
} from './dto/billing-limits.dto';
import { LedgerRepository } from './ledger.repository';

// Far above any real monthly spend in v1; guards typos, as the top-up and payout caps do.
const MAX_LIMIT_MINOR = 10n ** 15n;

/**
 * A buyer's own limits: a monthly spend cap (enforced where bids hold funds, LedgerService) and
 * a low-balance threshold (checked where postings lower available credit, LedgerService).
 * Setting one is not retroactive: bids already held stay, and a balance already below a new
 * threshold writes nothing until it rises to it and falls again.
 */
@Injectable()
export class BillingLimitsService {
  constructor(
    private readonly limits: BillingLimitsRepository,
    private readonly ledger: LedgerRepository,
    private readonly currencies: Currencies,
    private readonly clock: Clock,
  ) {}

  async getSpendCap(org: OrganisationContext, query: CurrencyQuery): Promise<SpendCapResponse> {
    const currency = query.currency ?? 'CNY';
    const scale = await this.currencies.scaleOf(currency);
    return this.spendCap(
      org.organisationId,
      currency,
      scale,
      await this.limits.findLimits(org.organisationId, currency),
    );
  }

  @Transactional()
  async setSpendCap(org: OrganisationContext, input: SetLimitDto): Promise<SpendCapResponse> {
    const { currency, scale, saved } = await this.save(org, input, 'spendCap');
    return this.spendCap(org.organisationId, currency, scale, saved);
  }

  async getLowBalanceThreshold(
    org: OrganisationContext,
    query: CurrencyQuery,
  ): Promise<LowBalanceThresholdResponse> {
    const currency = query.currency ?? 'CNY';
    const scale = await this.currencies.scaleOf(currency);
    return this.threshold(
      org.organisationId,
      currency,
      scale,
      await this.limits.findLimits(org.organisationId, currency),
    );
  }

  @Transactional()
  async setLowBalanceThreshold(
    org: OrganisationContext,
    input: SetLimitDto,
  ): Promise<LowBalanceThresholdResponse> {
    const { currency, scale, saved } = await this.save(org, input, 'lowBalanceThreshold');
    return this.threshold(org.organisationId, currency, scale, saved);
  }

  private async save(
    org: OrganisationContext,
    input: SetLimitDto,
    field: LimitField,
  ): Promise<{ currency: string; scale: number; saved: BillingLimitsRecord }> {
    const currency = input.currency ?? 'CNY';
    const scale = await this.currencies.scaleOf(currency);
    const amount =
      input.amount === null
        ? null
        : parseMoney(input.amount, { field: 'amount', scale, max: MAX_LIMIT_MINOR, allowZero: true });
    const saved = await this.limits.saveLimit(org.organisationId, currency, field, amount, this.clock.now());
    return { currency, scale, saved };
  }

  private async spendCap(
    organisationId: string,
    currency: string,
    scale: number,
    limits: BillingLimitsRecord,
  ): Promise<SpendCapResponse> {
    const period = spendPeriodOf(this.clock.now());
    const held = await this.balance(organisationId, currency, 'BUYER_HELD');
    const settled = await this.limits.settledChargesSince(organisationId, currency, period.startsAt);
    const committed = committedSpend(settled, held);
    const cap = limits.spendCap;
    return {
      currency,
      amount: cap === null ? null : formatMoney(cap, scale),
      period: 'CALENDAR_MONTH',
      timeZone: SPEND_PERIOD_TIME_ZONE,
      periodStartsAt: period.startsAt.toISOString(),
      periodEndsAt: period.endsAt.toISOString(),
      committed: formatMoney(committed, scale),
      remaining: cap === null ? null : formatMoney(cap > committed ? cap - committed : 0n, scale),
      updatedAt: limits.updatedAt?.toISOString() ?? null,
    };
  }

  private async threshold(
    organisationId: string,
    currency: string,
    scale: number,
    limits: BillingLimitsRecord,
  ): Promise<LowBalanceThresholdResponse> {
    const threshold = limits.lowBalanceThreshold;
    return {
      currency,
      amount: threshold === null ? null : formatMoney(threshold, scale),
      available: formatMoney(await this.balance(organisationId, currency, 'BUYER_AVAILABLE'), scale),
      updatedAt: limits.updatedAt?.toISOString() ?? null,
    };
  }

  private async balance(organisationId: string, currency: string, kind: string): Promise<bigint> {
    const balances = await this.ledger.findBalances(organisationId);
    return balances.find((b) => b.kind === kind && b.currency === currency)?.balance ?? 0n;
  }
}
