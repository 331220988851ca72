import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { createHttpApp, type HttpAppFactory } from '@/app/http-app';
import type { ProcessRoles } from '@/app/app.module';
import type { AppConfig } from '@/infra/config/app-config';
import { RedisService } from '@/infra/redis/redis.service';
import { OrderPlacementProbe } from '@/modules/markets/order-placement-probe';
import { PlacementHold } from './placement-hold.cjs';

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
