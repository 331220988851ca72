import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHttpApp } from '../../src/app/http-app';
import type { ProcessRoles } from '../../src/app/app.module';
import type { AppConfig } from '../../src/infra/config/app-config';

/** The API exactly as main.api.ts builds it, initialised and ready for supertest. */
export async function startHttpApp(
  config: AppConfig,
  roles: ProcessRoles = { api: true, worker: false },
): Promise<NestFastifyApplication> {
  const app = await createHttpApp(config, roles);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}
