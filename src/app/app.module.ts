import { DynamicModule, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { ClockModule } from '@/infra/clock/clock.module';
import { AppConfig } from '@/infra/config/app-config';
import { ConfigModule } from '@/infra/config/config.module';
import { PrismaModule, TransactionsModule } from '@/infra/prisma/prisma.module';
import { QueuesModule } from '@/infra/queues/queues.module';
import { JobOutcomeRecorder } from '@/infra/queues/job-outcome-recorder.service';
import { JobSchedules } from '@/infra/queues/job-schedules.service';
import { WorkerShutdown } from '@/infra/queues/worker-shutdown.service';
import { RedisModule } from '@/infra/redis/redis.module';
import { EventsWorkerModule } from '@/modules/events/events-worker.module';
import { EventsModule } from '@/modules/events/events.module';
import { HealthModule } from '@/modules/health/health.module';
import { IdempotencyModule } from '@/infra/idempotency/idempotency.module';
import { requestLogOptions } from '@/infra/http/request-logging';
import { RateLimitModule } from '@/infra/rate-limit/rate-limit.module';
import { OrganisationsModule } from '@/modules/organisations/organisations.module';
import { MarketsModule } from '@/modules/markets/markets.module';
import { ProvidersModule } from '@/modules/providers/providers.module';
import { BuyersModule } from '@/modules/buyers/buyers.module';
import { BuyersWorkerModule } from '@/modules/buyers/buyers-worker.module';
import { LedgerModule } from '@/modules/billing/ledger/ledger.module';
import { PaymentsModule } from '@/modules/billing/payments/payments.module';
import { SettlementModule } from '@/modules/billing/settlement/settlement.module';
import { StatementsModule } from '@/modules/billing/statements/statements.module';
import { LeasesModule } from '@/modules/leases/leases.module';
import { SettlementWorkerModule } from '@/modules/billing/settlement/settlement-worker.module';
import { LeasesWorkerModule } from '@/modules/leases/leases-worker.module';
import { MetricsModule } from '@/modules/metrics/metrics.module';
import { MatchingWorkerModule } from '@/modules/matching/matching-worker.module';
import { LiveEventsModule } from '@/modules/events/live-events.module';
import { WebhooksModule } from '@/modules/webhooks/webhooks.module';
import { WebhooksWorkerModule } from '@/modules/webhooks/webhooks-worker.module';
import { StatsModule } from '@/modules/stats/stats.module';
import { InferenceModule } from '@/modules/inference/inference.module';
import { ReliabilityModule } from '@/modules/reliability/reliability.module';
import { UsageModule } from '@/modules/usage/usage.module';
import { SloModule } from '@/modules/slo/slo.module';
import { SloStepAdapter } from '@/modules/slo/slo-step.adapter';
import type { SloStepBinding } from '@/modules/billing/settlement/settlement.module';
import { StatsWorkerModule } from '@/modules/stats/stats-worker.module';
import { AdminModule } from '@/modules/admin/admin.module';
import { LedgerFundsAdapter } from '@/modules/billing/ledger/ledger-funds.adapter';
import { QueueDashboardModule } from '@/modules/admin/queue-dashboard/queue-dashboard.module';

export interface ProcessRoles {
  /** Serve HTTP (controllers, docs, health, metrics). */
  api: boolean;
  /** Run BullMQ processors, the outbox relay and schedulers. */
  worker: boolean;
}

/**
 * The root module for any mix of roles: `main.api.ts` (api), `main.worker.ts` (worker) and
 * `main.ts` (both). Shared infrastructure is always present; roles add their modules.
 */
@Module({})
export class AppModule {
  static register(config: AppConfig, roles: ProcessRoles): DynamicModule {
    // The one binding of settlement's SLO step port: the SLO module.
    const sloStep: SloStepBinding = { imports: [SloModule], sloStep: SloStepAdapter };
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config, roles),
        LoggerModule.forRoot({
          pinoHttp: requestLogOptions(config),
          // No per-request middleware: the request log is written by a Fastify hook (http-app.ts).
          forRoutes: [],
        }),
        RedisModule,
        PrismaModule,
        TransactionsModule,
        ClockModule,
        QueuesModule,
        EventsModule,
        // Order matters: the AuthGuard (organisations) must run before the rate limiter.
        ...(roles.api
          ? [
              HealthModule,
              MetricsModule,
              OrganisationsModule,
              RateLimitModule,
              IdempotencyModule,
              MarketsModule,
              ProvidersModule,
              BuyersModule,
              LedgerModule,
              PaymentsModule,
              SettlementModule.register(sloStep),
              StatementsModule,
              LeasesModule,
              LiveEventsModule,
              WebhooksModule,
              StatsModule,
              InferenceModule,
              ReliabilityModule,
              UsageModule,
              SloModule,
              AdminModule,
              QueueDashboardModule,
            ]
          : []),
        ...(roles.worker
          ? [
              DiscoveryModule,
              EventsWorkerModule.register(config),
              // The one binding of matching's funds port: the ledger.
              MatchingWorkerModule.register(config, { imports: [LedgerModule], funds: LedgerFundsAdapter }),
              LeasesWorkerModule.register(config),
              BuyersWorkerModule,
              SettlementWorkerModule.register(config, sloStep),
              WebhooksWorkerModule.register(config),
              StatsWorkerModule.register(config),
            ]
          : []),
      ],
      providers: roles.worker ? [WorkerShutdown, JobOutcomeRecorder, JobSchedules] : [],
    };
  }
}
