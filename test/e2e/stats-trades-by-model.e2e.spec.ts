import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { startExchangeOnClock } from '../support/http-app';
import { clockOf, HOUR, leaseOfBid, MINUTE } from '../support/leases';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { closeExchange, createInferenceMarket } from './lease-fixtures';
import { createSite, placeOffer } from './marketplace-fixtures';

const MODEL = 'qwen2.5-7b-instruct';

type Body = Record<string, unknown>;
const body = (res: { body: unknown }): Body => res.body as Body;

/**
 * `tradesByModel` of the public market statistics (docs/STATS.md "Trades by model"), over HTTP
 * with API and worker in one process on the controllable clock. Provider A (Guizhou) offers 6 GPUs
 * at 30.00 and provider B (Inner Mongolia) 2 at 24.00, both serving Qwen2.5 7B at 3,000 prompt and
 * 1,000 output tokens/s per GPU. Each inference bid asks 1,000 + 1,000 tokens/s (sized into 2 GPUs,
 * 7,200,000 tokens an hour) in one province, so it trades at that province's ask: 30.00 x 2 x
 * 1,000,000 / 7,200,000 = 8.33 per million at A, 24.00 -> 6.66 at B.
 *
 * Hour 1: one inference lease at A for 2 h and a GPU lease (no model) at A. Hour 2: one for 1 h at
 * each of A and B. Read an hour later each time: one provider behind the model withholds prices,
 * two show them.
 */
describe('public market statistics: trades by model', () => {
  let app: NestFastifyApplication;
  let market: { id: string; slug: string };
  let providerA: TestTenant;
  let providerB: TestTenant;
  let buyer: TestTenant;
  const ids: string[] = [];
  const http = () => request(app.getHttpServer());
  const clock = () => clockOf(app);
  const at = (ms: number) => new Date(clock().now().getTime() + ms).toISOString();

  const stats = async (window: 'hour' | 'day'): Promise<Body> =>
    body(await http().get(`/v1/markets/${market.slug}/stats?window=${window}`).expect(200));

  async function offerServing(tenant: TestTenant, site: string, gpus: number, price: string): Promise<void> {
    const offer = await placeOffer(app, tenant, site, {
      market: market.slug,
      gpus,
      pricePerGpuHour: price,
      minLeaseHours: 1,
      availableFrom: at(-HOUR),
      availableUntil: at(30 * 24 * HOUR),
    });
    await http()
      .put(`/v1/offers/${offer.id}/serving-profiles`)
      .set(tenant.auth)
      .send({
        profiles: [
          {
            model: MODEL,
            concurrency: 8,
            promptTokensPerSecondPerGpu: 3000,
            outputTokensPerSecondPerGpu: 1000,
            ttftP50Ms: 60,
            ttftP95Ms: 100,
          },
        ],
      })
      .expect(200);
  }

  /** Places a bid and waits for the worker to lease it. */
  async function trade(terms: Body): Promise<void> {
    const bid = body(
      await http()
        .post('/v1/bids')
        .set(buyer.auth)
        .set('idempotency-key', randomUUID())
        .send({ market: market.slug, partialAllowed: false, expiresAt: at(24 * HOUR), ...terms })
        .expect(201),
    );
    await leaseOfBid(app, bid.id as string);
  }

  const inferenceBid = (province: string, durationHours: number) =>
    trade({
      durationHours,
      provinces: [province],
      inference: {
        model: MODEL,
        outputTokensPerSecond: 1000,
        promptToOutputRatio: 1,
        ttftP95Ms: 300,
        maxPricePerMillionTokens: '14.00',
      },
    });

  beforeAll(async () => {
    app = await startExchangeOnClock();
    market = await createInferenceMarket(app);
    providerA = await registerOrganisation(app, 'PROVIDER', { verified: true });
    providerB = await registerOrganisation(app, 'PROVIDER', { verified: true });
    buyer = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor: 1_000_000n });
    ids.push(providerA.organisationId, providerB.organisationId, buyer.organisationId);
    // Five minutes into a fresh clock hour, so each phase's leases fall in one hour.
    await clock().advance(HOUR - (clock().now().getTime() % HOUR) + 5 * MINUTE);
    const guiyang = await createSite(app, providerA, { provinceCode: '520000', cityCode: '520100' });
    const ulanqab = await createSite(app, providerB, { provinceCode: '150000', cityCode: '150900' });
    await offerServing(providerA, guiyang.id, 6, '30.00');
    await offerServing(providerB, ulanqab.id, 2, '24.00');
  });

  afterAll(() => closeExchange(app, { organisations: ids, markets: [market.id] }));

  it('counts one provider’s trades of a model but withholds their prices, and leaves GPU trades out', async () => {
    await inferenceBid('520000', 2);
    await trade({
      gpus: 1,
      maxPricePerGpuHour: '40.00',
      durationHours: 1,
      provinces: ['520000'],
      minGpusPerSite: 1,
      billingMode: 'RESERVED',
    });
    // The hour in progress is not in any window.
    expect((await stats('hour')).tradesByModel).toEqual([]);

    await clock().advance(HOUR);
    const hour = await stats('hour');
    expect(hour.minProviders).toBe(2);
    expect(hour.tradesByModel).toEqual([
      {
        model: MODEL,
        trades: 1,
        gpus: 2,
        volumeGpuHours: 4,
        outputTokensPerSecond: 1000,
        promptTokensPerSecond: 1000,
        pricePerMillionTokens: null,
        pricePerGpuHour: null,
      },
    ]);
    const text = JSON.stringify(hour);
    for (const id of ids) expect(text).not.toContain(id);
  });

  it('shows prices per million tokens and per GPU-hour once two providers are behind them', async () => {
    await inferenceBid('150000', 1);
    await inferenceBid('520000', 1);
    await clock().advance(HOUR);

    // The last hour: 8.33 and 6.66 per million over 7,200,000 tokens each -> 7.495 -> 7.49.
    expect((await stats('hour')).tradesByModel).toEqual([
      {
        model: MODEL,
        trades: 2,
        gpus: 4,
        volumeGpuHours: 4,
        outputTokensPerSecond: 2000,
        promptTokensPerSecond: 2000,
        pricePerMillionTokens: { vwap: '7.49', low: '6.66', high: '8.33' },
        pricePerGpuHour: { vwap: '27.00', low: '24.00', high: '30.00' },
      },
    ]);
    // The day: the 2 h lease weighs twice. (2 x 8.33 + 6.66 + 8.33) / 4 = 7.9125 -> 7.91 per
    // million; (30.00 x 4 + 24.00 x 2 + 30.00 x 2) / 8 GPU-hours = 28.50.
    expect((await stats('day')).tradesByModel).toEqual([
      {
        model: MODEL,
        trades: 3,
        gpus: 6,
        volumeGpuHours: 8,
        outputTokensPerSecond: 3000,
        promptTokensPerSecond: 3000,
        pricePerMillionTokens: { vwap: '7.91', low: '6.66', high: '8.33' },
        pricePerGpuHour: { vwap: '28.50', low: '24.00', high: '30.00' },
      },
    ]);
  });
});
