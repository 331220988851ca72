import { Injectable } from '@nestjs/common';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import type { Page } from '@/infra/pagination/page';
import { DomainError } from '@/shared/domain-error';
import type { OrganisationContext } from '@/infra/auth/principal';
import { BillingMapper } from './billing.mapper';
import { Currencies } from '@/modules/billing/currencies/currencies.service';
import type { BalanceResponse, LedgerEntryResponse, ListEntriesQuery } from './dto/balance.dto';
import { LedgerQueryService } from '@/modules/billing/ledger/ledger-query.service';

/** What an organisation reads of its money: balances and the entries behind them. */
@Injectable()
export class BillingService {
  constructor(
    private readonly ledger: LedgerQueryService,
    private readonly currencies: Currencies,
    private readonly cursors: CursorCodec,
  ) {}

  async getBalance(org: OrganisationContext): Promise<BalanceResponse> {
    const rows = await this.ledger.findBalances(org.organisationId);
    return BillingMapper.balances(rows, await this.currencies.scalesOf(rows));
  }

  async listEntries(org: OrganisationContext, query: ListEntriesQuery): Promise<Page<LedgerEntryResponse>> {
    if (query.currency !== undefined) await this.currencies.scaleOf(query.currency);
    const limit = this.cursors.limit(query.limit);
    const after = this.cursors.decode(query.cursor);
    // Entry ids are integers; a cursor signed for another list is not a position in this one.
    if (after !== undefined && !/^\d{1,19}$/.test(after.id)) {
      throw new DomainError('BAD_REQUEST', 'The cursor does not belong to this list.');
    }
    const rows = await this.ledger.listEntries(
      org.organisationId,
      { currency: query.currency },
      limit,
      after,
    );
    const scaleOf = await this.currencies.scalesOf(rows);
    return this.cursors.page(rows, limit, (row) => BillingMapper.entry(row, scaleOf(row.currency)));
  }
}
