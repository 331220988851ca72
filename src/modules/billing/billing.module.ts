import { Module } from '@nestjs/common';
import { CursorCodec } from '../../infra/pagination/cursor-codec';
import { AdminModule } from '../admin/admin.module';
import { EventsModule } from '../events/events.module';
import { BillingController } from './billing.controller';
import { BillingService } from './billing.service';
import { Currencies } from './currencies';
import { LedgerFundsAdapter } from './ledger-funds.adapter';
import { LedgerRepository } from './ledger.repository';
import { LedgerService } from './ledger.service';
import { ManualBankTransferProvider } from './manual-bank-transfer.provider';
import { PaymentProvider } from './payment-provider';
import { TopUpsAdminController } from './top-ups.admin.controller';
import { TopUpsAdminService } from './top-ups.admin.service';
import { TopUpsController } from './top-ups.controller';
import { TopUpsRepository } from './top-ups.repository';
import { TopUpsService } from './top-ups.service';

/**
 * The money behind the market: ledger, holds, top-ups (and, later, settlement and payouts).
 * Buyers (holds at placement) and the matching worker (the funds port) import it; its routes
 * are only served where the process serves HTTP.
 */
@Module({
  imports: [AdminModule, EventsModule],
  controllers: [BillingController, TopUpsController, TopUpsAdminController],
  providers: [
    LedgerRepository,
    LedgerService,
    LedgerFundsAdapter,
    TopUpsRepository,
    TopUpsService,
    TopUpsAdminService,
    BillingService,
    Currencies,
    CursorCodec,
    // The one payment method shipped; another provider is bound here.
    { provide: PaymentProvider, useClass: ManualBankTransferProvider },
  ],
  exports: [LedgerService, LedgerFundsAdapter],
})
export class BillingModule {}
