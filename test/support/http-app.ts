import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { createHttpApp, type HttpAppFactory } from '@/app/http-app';
import type { ProcessRoles } from '@/app/app.module';
import type { AppConfig } from '@/infra/config/app-config';
import { RedisService } from '@/infra/redis/redis.service';
import { OrderPlacementProbe } from '@/modules/markets/order-placement-probe';
import { PlacementHold } from './placement-hold.cjs';
import { testConfig } from './test-env';

/** The API exactly as main.api.ts builds it, initialised and ready for supertest. */
export async function startHttpApp(
  config: AppConfig,
  roles: ProcessRoles = { api: true, worker: false },
  createApp?: HttpAppFactory,
): Promise<NestFastifyApplication> {
  const app = await createHttpApp(config, roles, createApp);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

/**
 * API and worker in one process on the controllable clock, with rate limits and the matching,
 * lease and settlement sweeps out of the way (the tests run them); `overrides` add to that.
 */
export function startExchangeOnClock(
  overrides: Record<string, string> = {},
): Promise<NestFastifyApplication> {
  return startHttpApp(
    testConfig({
      RATE_LIMIT_PER_MINUTE: '100000',
      RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
      MATCHING_SWEEP_INTERVAL_MS: '3600000',
      LEASE_SWEEP_INTERVAL_MS: '3600000',
      SETTLEMENT_SWEEP_INTERVAL_MS: '3600000',
      CLOCK: 'controllable',
      ...overrides,
    }),
    { api: true, worker: true },
  );
}

/** The shipped app with its group commits of placements held at will (placement-hold.cjs). */
export const withPlacementHold: HttpAppFactory = async (root, adapter, options) => {
  const moduleRef = await Test.createTestingModule({ imports: [root] })
    .overrideProvider(OrderPlacementProbe)
    .useFactory({
      factory: (redis: RedisService) => new PlacementHold(redis.client.duplicate(), redis.prefix),
      inject: [RedisService],
    })
    .compile();
  return moduleRef.createNestApplication<NestFastifyApplication>(adapter, options);
};
