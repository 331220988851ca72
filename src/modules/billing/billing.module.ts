import { Module } from '@nestjs/common';
import { DataCipher } from '../../infra/crypto/data-cipher';
import { CursorCodec } from '../../infra/pagination/cursor-codec';
import { BankAccountController } from './bank-account.controller';
import { PayoutsAdminController } from './payouts.admin.controller';
import { SettlementAdminController } from './settlement.admin.controller';
import { SettlementAdminService } from './settlement.admin.service';
import { SettlementRepository } from './settlement.repository';
import { PayoutsAdminService } from './payouts.admin.service';
import { PayoutsController } from './payouts.controller';
import { PayoutsRepository } from './payouts.repository';
import { PayoutsService } from './payouts.service';
import { AuditModule } from '../../infra/audit/audit.module';
import { EventsModule } from '../events/events.module';
import { BillingAdminController } from './billing.admin.controller';
import { BillingController } from './billing.controller';
import { BillingLimitsController } from './billing-limits.controller';
import { BillingLimitsRepository } from './billing-limits.repository';
import { BillingLimitsService } from './billing-limits.service';
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
import { InvoicesController } from './invoices.controller';
import { InvoicesService } from './invoices.service';
import { StatementsRepository } from './statements.repository';
import { StatementsService } from './statements.service';
import { OrganisationWriteGateModule } from '../../infra/auth/write-gate/organisation-write-gate.module';

/**
 * The money behind the market: ledger, holds, top-ups, payouts, statements and invoices
 * (settlement, which issues invoices, runs in the worker:
 * SettlementWorkerModule).
 * Buyers (holds at placement) and the matching worker (the funds port) import it; its routes
 * are only served where the process serves HTTP.
 */
@Module({
  imports: [OrganisationWriteGateModule, AuditModule, EventsModule],
  controllers: [
    BillingController,
    BillingAdminController,
    BillingLimitsController,
    TopUpsController,
    TopUpsAdminController,
    PayoutsController,
    PayoutsAdminController,
    SettlementAdminController,
    BankAccountController,
    InvoicesController,
  ],
  providers: [
    LedgerRepository,
    LedgerService,
    BillingLimitsRepository,
    BillingLimitsService,
    LedgerFundsAdapter,
    TopUpsRepository,
    TopUpsService,
    TopUpsAdminService,
    BillingService,
    PayoutsRepository,
    PayoutsService,
    PayoutsAdminService,
    SettlementRepository,
    SettlementAdminService,
    DataCipher,
    Currencies,
    CursorCodec,
    StatementsRepository,
    StatementsService,
    InvoicesService,
    // The one payment method shipped; another provider is bound here.
    { provide: PaymentProvider, useClass: ManualBankTransferProvider },
  ],
  exports: [LedgerService, LedgerFundsAdapter, InvoicesService],
})
export class BillingModule {}
