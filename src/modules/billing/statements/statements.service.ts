import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { Clock } from '@/infra/clock/clock';
import { DomainError } from '@/shared/domain-error';
import { formatMoney } from '@/shared/money';
import { isTimeZone } from '@/shared/time-zone';
import type { OrganisationContext } from '@/infra/auth/principal';
import { Currencies } from '@/modules/billing/currencies/currencies.service';
import { statementRange } from './domain/statement-rules';
import type {
  BillingProfileResponse,
  EarningsGroupResponse,
  EarningsQuery,
  EarningsResponse,
  PlatformFeesQuery,
  PlatformFeesResponse,
  SetBillingProfileDto,
  SettledRangeQuery,
  TrialBalanceResponse,
} from './dto/statement.dto';
import { LedgerQueryService } from '@/modules/billing/ledger/ledger-query.service';
import { StatementsMapper } from './statements.mapper';
import { StatementsRepository, type EarningsGroupRecord } from './statements.repository';

export const DEFAULT_STATEMENT_TIME_ZONE = 'Asia/Shanghai';
// A statement is one response; a provider with more groups in the range narrows it.
export const MAX_EARNINGS_GROUPS = 5_000;

/** Billing profiles (what invoices name a buyer by), providers' earnings and the platform's fees. */
@Injectable()
export class StatementsService {
  constructor(
    private readonly statements: StatementsRepository,
    private readonly ledger: LedgerQueryService,
    private readonly currencies: Currencies,
    private readonly clock: Clock,
  ) {}

  async getProfile(org: OrganisationContext): Promise<BillingProfileResponse> {
    const profile = await this.statements.findProfile(org.organisationId);
    if (profile === null) throw new DomainError('NOT_FOUND', 'No billing profile is on file.');
    return StatementsMapper.profile(profile);
  }

  @Transactional()
  async setProfile(org: OrganisationContext, input: SetBillingProfileDto): Promise<BillingProfileResponse> {
    const saved = await this.statements.saveProfile(
      org.organisationId,
      {
        legalName: input.legalName.trim(),
        taxId: input.taxId ?? null,
        address: input.address.trim(),
        countryCode: input.countryCode,
        email: input.email?.toLowerCase() ?? null,
      },
      this.clock.now(),
    );
    return StatementsMapper.profile(saved);
  }

  /** Proceeds, fee and net of the provider's periods settled in the range, per lease, site or day. */
  async earnings(org: OrganisationContext, query: EarningsQuery): Promise<EarningsResponse> {
    const statement = await this.settledPeriods(query, (range, timeZone, limit) =>
      this.statements.sumEarnings(org.organisationId, query.groupBy, range, timeZone, limit),
    );
    const range = { from: new Date(statement.from), to: new Date(statement.to) };
    const rows = await this.statements.sumAdjustments(org.organisationId, range, MAX_EARNINGS_GROUPS + 1);
    if (rows.length > MAX_EARNINGS_GROUPS) throw tooManyRows();
    const scaleOf = await this.currencies.scalesOf(rows);
    return {
      ...statement,
      adjustments: rows.map((row) => StatementsMapper.adjustment(row, scaleOf(row.currency))),
    };
  }

  /** The platform's fees: every provider's periods settled in the range, per market or day. */
  async platformFees(query: PlatformFeesQuery): Promise<PlatformFeesResponse> {
    return this.settledPeriods(query, (range, timeZone, limit) =>
      this.statements.adminSumPeriods(query.groupBy, range, timeZone, limit),
    );
  }

  /** Every account kind's total per currency, and each currency's sum, zero when balanced. */
  async trialBalance(): Promise<TrialBalanceResponse> {
    const rows = await this.ledger.adminTrialBalance();
    const scaleOf = await this.currencies.scalesOf(rows);
    const totals = new Map<string, bigint>();
    for (const row of rows) totals.set(row.currency, (totals.get(row.currency) ?? 0n) + row.balance);
    return {
      accounts: rows.map((row) => ({
        kind: row.kind,
        currency: row.currency,
        accounts: row.accounts,
        balance: formatMoney(row.balance, scaleOf(row.currency)),
      })),
      totals: [...totals].map(([currency, balance]) => ({
        currency,
        balance: formatMoney(balance, scaleOf(currency)),
      })),
    };
  }

  private async settledPeriods<Q extends SettledRangeQuery & { groupBy: string }>(
    query: Q,
    sum: (range: { from: Date; to: Date }, timeZone: string, limit: number) => Promise<EarningsGroupRecord[]>,
  ): Promise<{
    groupBy: Q['groupBy'];
    timeZone: string;
    from: string;
    to: string;
    groups: EarningsGroupResponse[];
  }> {
    const timeZone = query.tz ?? DEFAULT_STATEMENT_TIME_ZONE;
    if (!isTimeZone(timeZone)) {
      throw new DomainError('INVALID_TIME_ZONE', `tz must be an IANA time zone such as Asia/Shanghai.`, {
        field: 'tz',
      });
    }
    const range = statementRange(
      query.from === undefined ? undefined : new Date(query.from),
      query.to === undefined ? undefined : new Date(query.to),
      this.clock.now(),
    );
    const rows = await sum(range, timeZone, MAX_EARNINGS_GROUPS + 1);
    if (rows.length > MAX_EARNINGS_GROUPS) throw tooManyRows();
    const scaleOf = await this.currencies.scalesOf(rows);
    return {
      groupBy: query.groupBy,
      timeZone,
      from: range.from.toISOString(),
      to: range.to.toISOString(),
      groups: rows.map((row) => StatementsMapper.earnings(row, scaleOf(row.currency))),
    };
  }
}

const tooManyRows = (): DomainError =>
  new DomainError('UNPROCESSABLE', `More than ${MAX_EARNINGS_GROUPS} groups in the range; narrow from/to.`, {
    reason: 'TOO_MANY_GROUPS',
  });
