/** A top-up awaiting the payer's money. */
export interface PendingPayment {
  reference: string;
  amount: string;
  currency: string;
}

/** What the payer must do to pay, shown with the top-up. */
export interface PaymentInstructions {
  method: 'BANK_TRANSFER';
  beneficiary: string;
  bankName: string;
  accountNumber: string;
  reference: string;
  amount: string;
  currency: string;
}

/**
 * How money enters (and, mirrored, leaves) the exchange. The shipped implementation is a manual
 * bank transfer that an admin confirms; a card or wallet provider would confirm by webhook.
 */
export abstract class PaymentProvider {
  abstract readonly method: 'BANK_TRANSFER';
  abstract instructions(payment: PendingPayment): PaymentInstructions;
}
