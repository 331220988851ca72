import { Module } from '@nestjs/common';
import { EventsModule } from '@/modules/events/events.module';
import { CurrenciesModule } from '@/modules/billing/currencies/currencies.module';
import { BillingLimitsController } from './billing-limits.controller';
import { BillingLimitsRepository } from './billing-limits.repository';
import { BillingLimitsService } from './billing-limits.service';
import { LedgerFundsAdapter } from './ledger-funds.adapter';
import { LedgerQueryService } from './ledger-query.service';
import { LedgerRepository } from './ledger.repository';
import { LedgerService } from './ledger.service';

/**
 * The double-entry ledger: holds, postings and the buyer's own limits (spend cap, low-balance
 * threshold), which it checks inside the postings. The one writer of ledger rows: buyers (holds at
 * placement), leases, payments and settlement call LedgerService; the matching worker gets the
 * funds port (LedgerFundsAdapter, bound in AppModule); statements read through LedgerQueryService.
 */
@Module({
  imports: [EventsModule, CurrenciesModule],
  controllers: [BillingLimitsController],
  providers: [
    LedgerRepository,
    LedgerService,
    LedgerQueryService,
    LedgerFundsAdapter,
    BillingLimitsRepository,
    BillingLimitsService,
  ],
  exports: [LedgerService, LedgerQueryService, LedgerFundsAdapter],
})
export class LedgerModule {}
