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
import type { AdminListTopUpsQuery, ConfirmTopUpDto, RejectTopUpDto, TopUpResponse } from './dto/top-up.dto';
import { LedgerService } from '@/modules/billing/ledger/ledger.service';
import { TopUpsRepository, type TopUpDecision, type TopUpRecord } from './top-ups.repository';
import { TopUpsService } from './top-ups.service';

const topUpNotFound = (): DomainError => new DomainError('NOT_FOUND', 'Top-up not found.');

/**
 * The admin side of manual bank transfers. Confirming credits the buyer through the ledger and
 * records `topup.confirmed`, in one transaction with the audit row. Both decisions are
 * idempotent by state: repeating one returns the top-up unchanged; the other one is a 409.
 */
@Injectable()
export class TopUpsAdminService {
  constructor(
    private readonly topUps: TopUpsRepository,
    private readonly presenter: TopUpsService,
    private readonly ledger: LedgerService,
    private readonly currencies: Currencies,
    private readonly audit: AuditService,
    private readonly outbox: OutboxService,
    private readonly cursors: CursorCodec,
    private readonly clock: Clock,
  ) {}

  async listTopUps(query: AdminListTopUpsQuery): Promise<Page<TopUpResponse>> {
    const limit = this.cursors.limit(query.limit);
    const rows = await this.topUps.listTopUps(
      { organisationId: query.organisationId, status: query.status },
      limit,
      this.cursors.decode(query.cursor),
    );
    return this.presenter.presentPage(rows, limit);
  }

  @Transactional()
  async confirmTopUp(adminUserId: string, id: string, input: ConfirmTopUpDto): Promise<TopUpResponse> {
    const { row, decided } = await this.decide(adminUserId, id, {
      status: 'CONFIRMED',
      bankReference: input.bankReference,
    });
    const scale = await this.currencies.scaleOf(row.currency);
    if (decided) {
      await this.ledger.creditTopUp({
        topUpId: row.id,
        organisationId: row.organisationId,
        amount: row.amount,
        currency: row.currency,
      });
      await this.audit.record(
        adminUserId,
        'topup.confirm',
        { type: 'top_up', id: row.id },
        {
          amount: formatMoney(row.amount, scale),
          currency: row.currency,
          bankReference: input.bankReference,
        },
      );
      await this.outbox.record({
        type: 'topup.confirmed',
        aggregateType: 'top_up',
        aggregateId: row.id,
        payload: {
          topUpId: row.id,
          organisationId: row.organisationId,
          amount: formatMoney(row.amount, scale),
          currency: row.currency,
          reference: row.reference,
        },
      });
    }
    return this.presenter.present(row, scale);
  }

  @Transactional()
  async rejectTopUp(adminUserId: string, id: string, input: RejectTopUpDto): Promise<TopUpResponse> {
    const { row, decided } = await this.decide(adminUserId, id, {
      status: 'REJECTED',
      rejectionReason: input.reason,
    });
    if (decided) {
      await this.audit.record(
        adminUserId,
        'topup.reject',
        { type: 'top_up', id: row.id },
        { reason: input.reason },
      );
    }
    return this.presenter.present(row, await this.currencies.scaleOf(row.currency));
  }

  private async decide(
    adminUserId: string,
    id: string,
    decision: TopUpDecision,
  ): Promise<{ row: TopUpRecord; decided: boolean }> {
    const decided = await this.topUps.adminDecideTopUp(id, decision, adminUserId, this.clock.now());
    if (decided) return { row: decided, decided: true };
    const row = await this.topUps.adminFindTopUp(id);
    if (!row) throw topUpNotFound();
    if (row.status !== decision.status) {
      throw new DomainError('CONFLICT', `The top-up is ${row.status.toLowerCase()} already.`);
    }
    return { row, decided: false };
  }
}
