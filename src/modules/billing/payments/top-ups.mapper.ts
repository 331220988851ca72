import { formatMoney } from '@/shared/money';
import type { TopUpResponse } from './dto/top-up.dto';
import type { PaymentInstructions } from './payment-provider';
import type { TopUpRecord } from './top-ups.repository';

/** Top-up rows to API shapes; money as decimal strings in the currency's scale. */
export const TopUpsMapper = {
  topUp(row: TopUpRecord, scale: number, instructions: PaymentInstructions): TopUpResponse {
    return {
      id: row.id,
      organisationId: row.organisationId,
      amount: formatMoney(row.amount, scale),
      currency: row.currency,
      status: row.status,
      reference: row.reference,
      instructions,
      bankReference: row.bankReference,
      rejectionReason: row.rejectionReason,
      createdAt: row.createdAt.toISOString(),
      decidedAt: row.decidedAt?.toISOString() ?? null,
    };
  },
};
