import { Injectable } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { isUUID } from 'class-validator';
import { Clock } from '@/infra/clock/clock';
import { DataCipher } from '@/infra/crypto/data-cipher';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import type { Page } from '@/infra/pagination/page';
import { DomainError } from '@/shared/domain-error';
import { formatMoney, parseMoney } from '@/shared/money';
import type { OrganisationContext } from '@/infra/auth/principal';
import { Currencies } from '@/modules/billing/currencies/currencies.service';
import type { PayoutSource } from '@/modules/billing/ledger/domain/ledger-rules';
import type {
  AdminPayoutResponse,
  BankAccountResponse,
  ListPayoutsQuery,
  PayoutResponse,
  RequestPayoutDto,
  SetBankAccountDto,
} from './dto/payout.dto';
import { LedgerService } from '@/modules/billing/ledger/ledger.service';
import { PayoutsRepository, type BankAccountRecord, type PayoutRecord } from './payouts.repository';
import { OrganisationWriteGateService } from '@/infra/auth/write-gate/organisation-write-gate.service';

const MAX_PENDING_PAYOUTS = 5;
// Far above any real balance in v1; guards typos, as the top-up cap does.
const MAX_PAYOUT_MINOR = 10n ** 15n;

/**
 * Money out, mirroring top-ups: an owner sets the organisation's bank account and asks for a
 * payout (providers from earnings, buyers from unused credit); the amount leaves the account for
 * clearing at once (402 when not covered), and an admin confirms the transfer was sent or
 * rejects it, which returns the amount (PayoutsAdminService).
 */
@Injectable()
export class PayoutsService {
  constructor(
    private readonly payouts: PayoutsRepository,
    private readonly ledger: LedgerService,
    private readonly currencies: Currencies,
    private readonly cipher: DataCipher,
    private readonly cursors: CursorCodec,
    private readonly clock: Clock,
    private readonly writeGate: OrganisationWriteGateService,
  ) {}

  async getBankAccount(org: OrganisationContext): Promise<BankAccountResponse> {
    const account = await this.payouts.findBankAccount(org.organisationId);
    if (!account) throw new DomainError('NOT_FOUND', 'No bank account is on file.');
    return bankAccount(account);
  }

  @Transactional()
  async setBankAccount(org: OrganisationContext, input: SetBankAccountDto): Promise<BankAccountResponse> {
    const number = input.accountNumber.replace(/[\s-]/g, '');
    const saved = await this.payouts.saveBankAccount(
      org.organisationId,
      {
        beneficiary: input.beneficiary,
        bankName: input.bankName,
        accountSealed: this.cipher.encrypt(number, `bank-account:${org.organisationId}`),
        accountLast4: number.slice(-4),
      },
      this.clock.now(),
    );
    return bankAccount(saved);
  }

  @Transactional()
  async requestPayout(org: OrganisationContext, input: RequestPayoutDto): Promise<PayoutResponse> {
    await this.writeGate.assertMayWrite(org.organisationId);
    const currency = input.currency ?? 'CNY';
    const scale = await this.currencies.scaleOf(currency);
    const amount = parseMoney(input.amount, { field: 'amount', scale, max: MAX_PAYOUT_MINOR });
    const account = await this.payouts.findBankAccount(org.organisationId);
    if (!account) {
      throw new DomainError(
        'CONFLICT',
        'Set a bank account (PUT /v1/bank-account) before asking for a payout.',
        {
          reason: 'NO_BANK_ACCOUNT',
        },
      );
    }
    // Held until commit: parallel requests count one after another, never the same four.
    await this.payouts.lockPayoutRequests(org.organisationId);
    if ((await this.payouts.countPending(org.organisationId)) >= MAX_PENDING_PAYOUTS) {
      throw new DomainError('CONFLICT', `At most ${MAX_PENDING_PAYOUTS} payouts may await an admin at once.`);
    }
    const source: PayoutSource =
      org.organisationRole === 'PROVIDER' ? 'PROVIDER_EARNINGS' : 'BUYER_AVAILABLE';
    // The account number is re-sealed for the payout row, bound to the organisation like the original.
    const row = await this.payouts.createPayout(
      org.organisationId,
      { source, amount, currency, account },
      this.clock.now(),
    );
    await this.ledger.reservePayout(
      { payoutId: row.id, organisationId: org.organisationId, source, amount, currency },
      scale,
    );
    return payoutResponse(row, scale);
  }

  async listPayouts(org: OrganisationContext, query: ListPayoutsQuery): Promise<Page<PayoutResponse>> {
    const limit = this.cursors.limit(query.limit);
    const rows = await this.payouts.listPayouts(
      { organisationId: org.organisationId, status: query.status },
      limit,
      this.cursors.decode(query.cursor),
    );
    const scaleOf = await this.currencies.scalesOf(rows);
    return this.cursors.page(rows, limit, (row) => payoutResponse(row, scaleOf(row.currency)));
  }

  async getPayout(org: OrganisationContext, id: string): Promise<PayoutResponse> {
    const row = isUUID(id) ? await this.payouts.findPayout(org.organisationId, id) : null;
    if (!row) throw new DomainError('NOT_FOUND', 'Payout not found.');
    return payoutResponse(row, await this.currencies.scaleOf(row.currency));
  }

  /** The payout with its full account number, for the admin who makes the transfer. */
  async presentForAdmin(row: PayoutRecord): Promise<AdminPayoutResponse> {
    return {
      ...payoutResponse(row, await this.currencies.scaleOf(row.currency)),
      accountNumber: this.cipher.decrypt(row.accountSealed, `bank-account:${row.organisationId}`),
    };
  }
}

function bankAccount(row: BankAccountRecord): BankAccountResponse {
  return {
    beneficiary: row.beneficiary,
    bankName: row.bankName,
    accountLast4: row.accountLast4,
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function payoutResponse(row: PayoutRecord, scale: number): PayoutResponse {
  return {
    id: row.id,
    organisationId: row.organisationId,
    source: row.source,
    amount: formatMoney(row.amount, scale),
    currency: row.currency,
    status: row.status,
    beneficiary: row.beneficiary,
    bankName: row.bankName,
    accountLast4: row.accountLast4,
    bankReference: row.bankReference,
    rejectionReason: row.rejectionReason,
    createdAt: row.createdAt.toISOString(),
    decidedAt: row.decidedAt?.toISOString() ?? null,
  };
}
