/**
 * Prints the OpenAPI document (`/docs-json`) without opening a port, for linting in CI:
 * `node dist/cli/openapi.js > openapi.json`. Needs PostgreSQL and Redis reachable like the API.
 */
import 'reflect-metadata';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHttpApp } from '@/app/http-app';
import { loadEnvironment } from '@/config/app-config';
import { AppConfig } from '@/infra/config/app-config';

async function main(): Promise<void> {
  const env = loadEnvironment(undefined, { requireSecrets: false });
  // No request is served, so placeholder secrets are enough to build the routes.
  const placeholder = 'openapi-export-placeholder-secret-0000000000';
  const config = new AppConfig(
    { ...env, LOG_LEVEL: 'silent' },
    {
      API_KEY_PEPPER: placeholder,
      JWT_SECRET: placeholder,
      DATA_ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'),
    },
  );
  const app: NestFastifyApplication = await createHttpApp(config, { api: true, worker: false });
  try {
    await app.init();
    const res = await app.getHttpAdapter().getInstance().inject({ method: 'GET', url: '/docs-json' });
    if (res.statusCode !== 200) throw new Error(`/docs-json answered ${res.statusCode}`);
    process.stdout.write(`${JSON.stringify(JSON.parse(res.body), null, 2)}\n`);
  } finally {
    await app.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`openapi: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
