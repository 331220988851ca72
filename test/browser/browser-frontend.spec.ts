import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import request from 'supertest';
import { quiet } from '../e2e/lease-fixtures';
import { removeMarketplaceData } from '../e2e/marketplace-fixtures';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, signIn, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';

/** Debian's package (`.ci/run` installs it); nothing here downloads a browser. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

// Loopback only: every host name but 127.0.0.1 fails to resolve, and no background traffic.
const CHROMIUM_ARGS = [
  '--headless',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
];

/** The example page on an origin of its own: a second loopback port, as a frontend dev server. */
async function serveStaticPage(): Promise<Server> {
  const page = await readFile(join(__dirname, 'app.html'));
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/app.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/**
 * A real browser uses the API from another origin (docs/BROWSER.md): headless Chromium opens
 * test/browser/app.html from its own server, signs a buyer in, places a bid, changes the spend
 * cap with PUT, and shows the bid's event from the live stream, opened with a stream ticket.
 * The API runs with no CORS_ORIGINS: the development default must let the page in.
 */
describe('a browser frontend on another origin', () => {
  const config = testConfig({
    RATE_LIMIT_PER_MINUTE: '100000',
    RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
    MATCHING_SWEEP_INTERVAL_MS: '3600000',
    LEASE_SWEEP_INTERVAL_MS: '3600000',
    SETTLEMENT_SWEEP_INTERVAL_MS: '3600000',
    STATS_REFRESH_INTERVAL_MS: '3600000',
  });
  let app: NestFastifyApplication | undefined;
  let pageServer: Server | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let apiUrl: string;
  let pageUrl: string;
  let buyer: TestTenant;
  const pageErrors: string[] = [];
  // Waits on what the page shows, never on time; the bound only reports a page that is stuck.
  const WAIT_MS = 30_000;
  const showsText = (selector: string, text: RegExp) =>
    page.locator(selector, { hasText: text }).waitFor({ timeout: WAIT_MS });

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
    }
    app = await startHttpApp(config, { api: true, worker: true });
    await app.listen({ port: 0, host: '127.0.0.1' });
    apiUrl = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    buyer = await registerOrganisation(app, 'BUYER', { verified: true });
    pageServer = await serveStaticPage();
    pageUrl = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}/app.html`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 60_000,
    });
    page = await browser.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    // An API, a worker and a browser starting on a busy machine.
  }, 180_000);

  afterAll(async () => {
    try {
      await browser?.close();
    } finally {
      try {
        await new Promise<void>((resolve) => (pageServer ? pageServer.close(() => resolve()) : resolve()));
        if (app && buyer) {
          await quiet(app);
          await removeMarketplaceData(app, [buyer.organisationId]);
        }
      } finally {
        await app?.close();
      }
    }
  }, 60_000);

  it('signs in, places a bid, changes the spend cap and shows the bid live', async () => {
    expect(new URL(pageUrl).origin).not.toBe(new URL(apiUrl).origin);
    await page.goto(`${pageUrl}?api=${encodeURIComponent(apiUrl)}`);

    await page.fill('#email', buyer.email);
    await page.fill('#password', buyer.password);
    await page.click('#login button[type=submit]');
    await showsText('#status', /^signed in$/);
    // The stream is open (through a ticket) before the bid, so its event arrives live.
    await showsText('#stream', /^open$/);
    // Read by the page's script: the header is exposed to it.
    expect(await page.textContent('#request-id')).toMatch(/^[0-9a-f-]{36}$/);

    await page.click('#bid button[type=submit]');
    await showsText('#bid-id', /^[0-9a-f-]{36}$/);
    const bidId = (await page.textContent('#bid-id'))!;
    await page.waitForSelector(`#events li[data-type="bid.placed"][data-aggregate="${bidId}"]`, {
      timeout: WAIT_MS,
    });

    await page.fill('#cap', '4321.00');
    await page.click('#spend-cap button[type=submit]');
    await showsText('#cap-saved', /^4321\.00$/);
    const owner = await signIn(app!, buyer);
    const cap = await request(app!.getHttpServer())
      .get('/v1/billing/spend-cap?currency=CNY')
      .set(owner.auth)
      .expect(200);
    expect(cap.body).toMatchObject({ amount: '4321.00' });

    expect(await page.textContent('#error')).toBe('');
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
