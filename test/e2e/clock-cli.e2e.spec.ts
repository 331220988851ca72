import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { testConfig, testEnv, uniqueRedisPrefix } from '../support/test-env';
import { hoursFromNow, placeBid, removeMarketplaceData } from './marketplace-fixtures';

/** `npm run clock` (the built dist/cli/clock.js) moves the time of a running exchange. */
describe('development clock CLI', () => {
  const prefix = uniqueRedisPrefix();
  let app: NestFastifyApplication;
  let buyer: TestTenant;
  const clock = (...args: string[]) =>
    spawnSync(process.execPath, [join(__dirname, '..', '..', 'dist', 'cli', 'clock.js'), ...args], {
      env: { PATH: process.env.PATH ?? '', ...testEnv({ CLOCK: 'controllable', REDIS_PREFIX: prefix }) },
      encoding: 'utf8',
    });

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({ CLOCK: 'controllable', REDIS_PREFIX: prefix, RATE_LIMIT_PER_MINUTE: '100000' }),
    );
    buyer = await registerOrganisation(app, 'BUYER', { verified: true });
  });

  afterAll(async () => {
    await removeMarketplaceData(app, [buyer.organisationId]);
    await app.close();
  });

  it('moves the exchange two hours ahead, so a bid expiring in one hour is refused', async () => {
    await placeBid(app, buyer, { expiresAt: hoursFromNow(1) });
    const moved = clock('+2h');
    expect(moved.stderr).toBe('');
    expect(moved.status).toBe(0);
    const shown = Date.parse(moved.stdout.trim());
    expect(Math.abs(shown - (Date.now() + 2 * 3_600_000))).toBeLessThan(60_000);
    await expect(placeBid(app, buyer, { expiresAt: hoursFromNow(1) })).rejects.toThrow(/400/);
    expect(clock().stdout.trim()).toBe(moved.stdout.trim());
    expect(clock('soon').status).toBe(2);
  });
});
