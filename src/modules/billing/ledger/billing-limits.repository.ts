import { Injectable } from '@nestjs/common';
import { Tx } from '@/infra/prisma/tx';

export interface BillingLimitsRecord {
  spendCap: bigint | null;
  lowBalanceThreshold: bigint | null;
  updatedAt: Date | null;
}

export type LimitField = 'spendCap' | 'lowBalanceThreshold';

/** An organisation's own limits per currency (billing_limits), and what counts against its cap. */
@Injectable()
export class BillingLimitsRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  async findLimits(organisationId: string, currency: string): Promise<BillingLimitsRecord> {
    const row = await this.tx.billingLimit.findUnique({
      where: { organisationId_currency: { organisationId, currency } },
      select: { spendCap: true, lowBalanceThreshold: true, updatedAt: true },
    });
    return row ?? { spendCap: null, lowBalanceThreshold: null, updatedAt: null };
  }

  /** Sets (or with null removes) one limit, leaving the other as it was. */
  async saveLimit(
    organisationId: string,
    currency: string,
    field: LimitField,
    amount: bigint | null,
    at: Date,
  ): Promise<BillingLimitsRecord> {
    return this.tx.billingLimit.upsert({
      where: { organisationId_currency: { organisationId, currency } },
      create: { organisationId, currency, [field]: amount, updatedAt: at },
      update: { [field]: amount, updatedAt: at },
      select: { spendCap: true, lowBalanceThreshold: true, updatedAt: true },
    });
  }

  /**
   * What settled periods charged the organisation's held credit since `since`: settlement
   * transfers are filed under the buyer (ledger_transfers' organisation + time index).
   */
  async settledChargesSince(organisationId: string, currency: string, since: Date): Promise<bigint> {
    const [row] = await this.tx.$queryRaw<Array<{ total: bigint }>>`
      SELECT COALESCE(SUM(-e.amount), 0)::bigint AS total
      FROM ledger_transfers t
      JOIN ledger_entries e ON e.transfer_id = t.id
      JOIN ledger_accounts a ON a.id = e.account_id
      WHERE t.organisation_id = ${organisationId}::uuid AND t.created_at >= ${since}
        AND t.kind = 'SETTLEMENT' AND t.currency = ${currency}
        AND a.organisation_id = ${organisationId}::uuid AND a.kind = 'BUYER_HELD'`;
    return row?.total ?? 0n;
  }
}
