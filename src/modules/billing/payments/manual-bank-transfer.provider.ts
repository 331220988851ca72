import { Injectable } from '@nestjs/common';
import { AppConfig } from '@/infra/config/app-config';
import { PaymentProvider, type PaymentInstructions, type PendingPayment } from './payment-provider';

/** The payer transfers to the platform's account with the reference; an admin confirms receipt. */
@Injectable()
export class ManualBankTransferProvider extends PaymentProvider {
  readonly method = 'BANK_TRANSFER' as const;

  constructor(private readonly config: AppConfig) {
    super();
  }

  instructions(payment: PendingPayment): PaymentInstructions {
    return {
      method: this.method,
      beneficiary: this.config.env.PAYMENT_BANK_BENEFICIARY,
      bankName: this.config.env.PAYMENT_BANK_NAME,
      accountNumber: this.config.env.PAYMENT_BANK_ACCOUNT,
      reference: payment.reference,
      amount: payment.amount,
      currency: payment.currency,
    };
  }
}
