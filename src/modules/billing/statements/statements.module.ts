import { Module } from '@nestjs/common';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { CurrenciesModule } from '@/modules/billing/currencies/currencies.module';
import { LedgerModule } from '@/modules/billing/ledger/ledger.module';
import { BillingAdminController } from './billing.admin.controller';
import { BillingController } from './billing.controller';
import { BillingService } from './billing.service';
import { InvoicesController } from './invoices.controller';
import { InvoicesService } from './invoices.service';
import { StatementsRepository } from './statements.repository';
import { StatementsService } from './statements.service';

/**
 * What organisations and the platform read of their money: balances, entries, earnings, fees,
 * the trial balance, billing profiles and invoices (issued by settlement through InvoicesService).
 */
@Module({
  imports: [CurrenciesModule, LedgerModule],
  controllers: [BillingController, BillingAdminController, InvoicesController],
  providers: [BillingService, StatementsRepository, StatementsService, InvoicesService, CursorCodec],
  exports: [InvoicesService],
})
export class StatementsModule {}
