import { Module } from '@nestjs/common';
import { AuditModule } from '@/infra/audit/audit.module';
import { OrganisationWriteGateModule } from '@/infra/auth/write-gate/organisation-write-gate.module';
import { DataCipher } from '@/infra/crypto/data-cipher';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { EventsModule } from '@/modules/events/events.module';
import { CurrenciesModule } from '@/modules/billing/currencies/currencies.module';
import { LedgerModule } from '@/modules/billing/ledger/ledger.module';
import { BankAccountController } from './bank-account.controller';
import { ManualBankTransferProvider } from './manual-bank-transfer.provider';
import { PaymentProvider } from './payment-provider';
import { PayoutsAdminController } from './payouts.admin.controller';
import { PayoutsAdminService } from './payouts.admin.service';
import { PayoutsController } from './payouts.controller';
import { PayoutsRepository } from './payouts.repository';
import { PayoutsService } from './payouts.service';
import { TopUpsAdminController } from './top-ups.admin.controller';
import { TopUpsAdminService } from './top-ups.admin.service';
import { TopUpsController } from './top-ups.controller';
import { TopUpsRepository } from './top-ups.repository';
import { TopUpsService } from './top-ups.service';

/** Money in and out: top-ups through the payment provider, payouts to a bank account on file. */
@Module({
  imports: [OrganisationWriteGateModule, AuditModule, EventsModule, CurrenciesModule, LedgerModule],
  controllers: [
    TopUpsController,
    TopUpsAdminController,
    PayoutsController,
    PayoutsAdminController,
    BankAccountController,
  ],
  providers: [
    TopUpsRepository,
    TopUpsService,
    TopUpsAdminService,
    PayoutsRepository,
    PayoutsService,
    PayoutsAdminService,
    DataCipher,
    CursorCodec,
    // The one payment method shipped; another provider is bound here.
    { provide: PaymentProvider, useClass: ManualBankTransferProvider },
  ],
})
export class PaymentsModule {}
