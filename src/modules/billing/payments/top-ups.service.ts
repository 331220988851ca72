import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { isUUID } from 'class-validator';
import { Clock } from '@/infra/clock/clock';
import { AppConfig } from '@/infra/config/app-config';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import type { Page } from '@/infra/pagination/page';
import { DomainError } from '@/shared/domain-error';
import { formatMoney, parseMoney } from '@/shared/money';
import type { OrganisationContext } from '@/infra/auth/principal';
import { assertNotSuspended } from '@/infra/auth/suspension';
import { TopUpsMapper } from './top-ups.mapper';
import { Currencies } from '@/modules/billing/currencies/currencies.service';
import { newPaymentReference } from './domain/payment-reference';
import type { ListTopUpsQuery, RequestTopUpDto, TopUpResponse } from './dto/top-up.dto';
import { PaymentProvider } from './payment-provider';
import { TopUpsRepository, type TopUpRecord } from './top-ups.repository';
import { OrganisationWriteGateService } from '@/infra/auth/write-gate/organisation-write-gate.service';

const DEFAULT_CURRENCY = 'CNY';

/**
 * Buyers' top-ups: a request with payment instructions; the money counts once an admin
 * confirms the transfer arrived (TopUpsAdminService).
 */
@Injectable()
export class TopUpsService {
  constructor(
    private readonly topUps: TopUpsRepository,
    private readonly payments: PaymentProvider,
    private readonly currencies: Currencies,
    private readonly cursors: CursorCodec,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    private readonly writeGate: OrganisationWriteGateService,
  ) {}

  @Transactional()
  async requestTopUp(org: OrganisationContext, input: RequestTopUpDto): Promise<TopUpResponse> {
    if (org.organisationRole !== 'BUYER') {
      throw new DomainError('FORBIDDEN', 'Only buyers top up credit; providers are paid out from earnings.');
    }
    assertNotSuspended(org.organisationStatus);
    await this.writeGate.assertMayWrite(org.organisationId);
    const currency = input.currency ?? DEFAULT_CURRENCY;
    const scale = await this.currencies.scaleOf(currency);
    const amount = parseMoney(input.amount, {
      field: 'amount',
      scale,
      max: BigInt(this.config.env.TOPUP_MAX_AMOUNT) * 10n ** BigInt(scale),
    });
    // Held until commit: parallel requests count one after another, never the same four.
    await this.topUps.lockTopUpRequests(org.organisationId);
    if ((await this.topUps.countPending(org.organisationId)) >= this.config.env.TOPUP_MAX_PENDING) {
      throw new DomainError(
        'CONFLICT',
        `At most ${this.config.env.TOPUP_MAX_PENDING} top-ups may await confirmation; pay or let an admin reject one first.`,
      );
    }
    const row = await this.topUps.createTopUp(org.organisationId, {
      amount,
      currency,
      reference: newPaymentReference(),
      at: this.clock.now(),
    });
    return this.present(row, scale);
  }

  async listTopUps(org: OrganisationContext, query: ListTopUpsQuery): Promise<Page<TopUpResponse>> {
    const limit = this.cursors.limit(query.limit);
    const rows = await this.topUps.listOwnTopUps(
      org.organisationId,
      query.status,
      limit,
      this.cursors.decode(query.cursor),
    );
    return this.presentPage(rows, limit);
  }

  /** A missing id, a malformed one and another organisation's are the same 404. */
  async getTopUp(org: OrganisationContext, id: string): Promise<TopUpResponse> {
    const row = isUUID(id) ? await this.topUps.findTopUp(org.organisationId, id) : null;
    if (!row) throw new DomainError('NOT_FOUND', 'Top-up not found.');
    return this.present(row, await this.currencies.scaleOf(row.currency));
  }

  async presentPage(rows: TopUpRecord[], limit: number): Promise<Page<TopUpResponse>> {
    const scaleOf = await this.currencies.scalesOf(rows);
    return this.cursors.page(rows, limit, (row) => this.present(row, scaleOf(row.currency)));
  }

  present(row: TopUpRecord, scale: number): TopUpResponse {
    const instructions = this.payments.instructions({
      reference: row.reference,
      amount: formatMoney(row.amount, scale),
      currency: row.currency,
    });
    return TopUpsMapper.topUp(row, scale, instructions);
  }
}
