import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import request from 'supertest';
import { Clock } from '@/infra/clock/clock';
import type { ControllableClock } from '@/infra/clock/controllable-clock';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';
import { placeBid, removeMarketplaceData } from './marketplace-fixtures';

describe('webhooks under the development clock', () => {
  let app: NestFastifyApplication;
  let buyer: TestTenant;
  let server: Server;
  const received: Array<{ headers: IncomingHttpHeaders; body: string }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    app = await startHttpApp(
      testConfig({
        CLOCK: 'controllable',
        WEBHOOK_ALLOW_LOOPBACK: 'true',
        MATCHING_SWEEP_INTERVAL_MS: '3600000',
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
      }),
      { api: true, worker: true },
    );
    buyer = await registerOrganisation(app, 'BUYER', { verified: true });
  });

  afterAll(async () => {
    await app
      .get(PrismaService)
      .webhookEndpoint.deleteMany({ where: { organisationId: buyer.organisationId } });
    await removeMarketplaceData(app, [buyer.organisationId]);
    await app.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('signs with the real time, so a receiver verifies it while the exchange runs hours ahead', async () => {
    await app.get<Clock, ControllableClock>(Clock).advance(3 * 3_600_000);
    const { port } = server.address() as AddressInfo;
    const created = await request(app.getHttpServer())
      .post('/v1/webhooks')
      .set(buyer.auth)
      .set('idempotency-key', randomUUID())
      .send({ url: `http://127.0.0.1:${port}/hooks`, eventTypes: ['bid.placed'] })
      .expect(201);
    const { secret } = created.body as { secret: string };

    const bid = await placeBid(app, buyer);
    const message = await waitFor('the delivery', () => Promise.resolve(received[0]));
    // Webhook.verify refuses a timestamp more than 5 minutes from the receiver's own clock.
    const event = new Webhook(secret).verify(message.body, {
      'webhook-id': String(message.headers['webhook-id']),
      'webhook-timestamp': String(message.headers['webhook-timestamp']),
      'webhook-signature': String(message.headers['webhook-signature']),
    }) as { type: string; aggregateId: string };
    expect(event).toMatchObject({ type: 'bid.placed', aggregateId: bid.id });
  });
});
