import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { Clock } from '@/infra/clock/clock';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import type { Page } from '@/infra/pagination/page';
import { DomainError } from '@/shared/domain-error';
import { formatMoney } from '@/shared/money';
import { AuditService } from '@/infra/audit/audit.service';
import { OutboxService } from '@/modules/events/outbox.service';
import { Currencies } from '@/modules/billing/currencies/currencies.service';
import type { PayoutMoney } from '@/modules/billing/ledger/domain/ledger-rules';
import type {
  AdminListPayoutsQuery,
  AdminPayoutResponse,
  ConfirmPayoutDto,
  RejectPayoutDto,
} from './dto/payout.dto';
import { LedgerService } from '@/modules/billing/ledger/ledger.service';
import { PayoutsRepository, type PayoutDecision, type PayoutRecord } from './payouts.repository';
import { PayoutsService } from './payouts.service';

/**
 * The admin side of payouts. Confirming records that the bank transfer was sent: the amount
 * leaves clearing for the outside world and `payout.paid` is written; rejecting returns it to the
 * account it came from. Both are audited and idempotent by state (the other one is a 409).
 */
@Injectable()
export class PayoutsAdminService {
  constructor(
    private readonly payouts: PayoutsRepository,
    private readonly presenter: PayoutsService,
    private readonly ledger: LedgerService,
    private readonly currencies: Currencies,
    private readonly audit: AuditService,
    private readonly outbox: OutboxService,
    private readonly cursors: CursorCodec,
    private readonly clock: Clock,
  ) {}

  async listPayouts(query: AdminListPayoutsQuery): Promise<Page<AdminPayoutResponse>> {
    const limit = this.cursors.limit(query.limit);
    const rows = await this.payouts.listPayouts(
      { organisationId: query.organisationId, status: query.status },
      limit,
      this.cursors.decode(query.cursor),
    );
    const page = this.cursors.page(rows, limit, (row) => row);
    return {
      data: await Promise.all(page.data.map((row) => this.presenter.presentForAdmin(row))),
      nextCursor: page.nextCursor,
    };
  }

  @Transactional()
  async confirmPayout(
    adminUserId: string,
    id: string,
    input: ConfirmPayoutDto,
  ): Promise<AdminPayoutResponse> {
    const { row, decided } = await this.decide(adminUserId, id, {
      status: 'PAID',
      bankReference: input.bankReference,
    });
    if (decided) {
      const scale = await this.currencies.scaleOf(row.currency);
      await this.ledger.completePayout(money(row));
      await this.audit.record(
        adminUserId,
        'payout.confirm',
        { type: 'payout', id: row.id },
        {
          amount: formatMoney(row.amount, scale),
          currency: row.currency,
          bankReference: input.bankReference,
        },
      );
      await this.outbox.record({
        type: 'payout.paid',
        aggregateType: 'payout',
        aggregateId: row.id,
        payload: {
          payoutId: row.id,
          organisationId: row.organisationId,
          source: row.source,
          amount: formatMoney(row.amount, scale),
          currency: row.currency,
          bankReference: input.bankReference,
        },
      });
    }
    return this.presenter.presentForAdmin(row);
  }

  @Transactional()
  async rejectPayout(adminUserId: string, id: string, input: RejectPayoutDto): Promise<AdminPayoutResponse> {
    const { row, decided } = await this.decide(adminUserId, id, {
      status: 'REJECTED',
      rejectionReason: input.reason,
    });
    if (decided) {
      await this.ledger.returnPayout(money(row));
      await this.audit.record(
        adminUserId,
        'payout.reject',
        { type: 'payout', id: row.id },
        { reason: input.reason },
      );
    }
    return this.presenter.presentForAdmin(row);
  }

  private async decide(
    adminUserId: string,
    id: string,
    decision: PayoutDecision,
  ): Promise<{ row: PayoutRecord; decided: boolean }> {
    const decided = await this.payouts.adminDecidePayout(id, decision, adminUserId, this.clock.now());
    if (decided) return { row: decided, decided: true };
    const row = await this.payouts.adminFindPayout(id);
    if (!row) throw new DomainError('NOT_FOUND', 'Payout not found.');
    if (row.status !== decision.status) {
      throw new DomainError('CONFLICT', `The payout is ${row.status.toLowerCase()} already.`);
    }
    return { row, decided: false };
  }
}

const money = (row: PayoutRecord): PayoutMoney => ({
  payoutId: row.id,
  organisationId: row.organisationId,
  source: row.source,
  amount: row.amount,
  currency: row.currency,
});
