import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { createAdminWithCli } from '../support/admin-cli';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, signIn, type TestTenant } from '../support/tenants';
import {
  createSite,
  marketplaceConfig,
  placeOffer,
  removeMarketplaceData,
  withoutRequestId,
} from './marketplace-fixtures';

type Auth = { authorization: string };
type Profile = { id: string; model: string; review: string; flags: string[]; reviewedAt: string | null };

// docs/INFERENCE.md example 1: Llama 3.3 70B BF16 on H100 at 8 requests per GPU.
const EXAMPLE_1 = {
  gpusPerReplica: 4,
  promptTokensPerSecondPerGpu: 2804.6,
  outputTokensPerSecondPerGpu: 419.8,
  ttftP50Ms: 111,
  ttftP95Ms: 202,
};
const WITHIN_BAND = {
  model: 'llama-3.3-70b-instruct',
  concurrency: 8,
  promptTokensPerSecondPerGpu: 2600,
  outputTokensPerSecondPerGpu: 400,
  ttftP50Ms: 120,
  ttftP95Ms: 220,
};
const SMALL_MODEL = {
  model: 'qwen2.5-7b-instruct',
  concurrency: 8,
  promptTokensPerSecondPerGpu: 20000,
  outputTokensPerSecondPerGpu: 1500,
  ttftP50Ms: 40,
  ttftP95Ms: 80,
};

/**
 * The model catalogue, reference profiles and serving profiles over HTTP (API only; the
 * provider stays unverified so its offers never reach matching): public reads, the audited admin
 * model endpoint, owner-only declarations with their 400s, flagging and the audited review.
 */
describe('inference catalogue and serving profiles', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  let admin: Auth;
  let adminUserId: string;
  let provider: TestTenant;
  let other: TestTenant;
  let buyer: TestTenant;
  let offerId: string;
  const adminEmail = `admin-${randomUUID()}@inference.test`;
  const adminPassword = 'inference admin passphrase';
  const addedSlug = `test-model-${randomUUID().slice(0, 8)}`;
  const extraOrganisations: string[] = [];
  const http = () => request(app.getHttpServer());
  const profilesUrl = (id: string) => `/v1/offers/${id}/serving-profiles`;
  const put = (profiles: unknown[], auth: Auth = provider.auth, id = offerId) =>
    http().put(profilesUrl(id)).set(auth).send({ profiles });
  const stored = () => prisma.servingProfile.findMany({ where: { offerId }, orderBy: { id: 'asc' } });

  beforeAll(async () => {
    app = await startHttpApp(marketplaceConfig(), { api: true, worker: false });
    prisma = app.get(PrismaService);
    const created = await createAdminWithCli(adminEmail, adminPassword);
    if (created.code !== 0) throw new Error(`admin CLI failed: ${created.stderr}`);
    admin = (await signIn(app, { email: adminEmail, password: adminPassword })).auth;
    adminUserId = (await prisma.user.findUniqueOrThrow({ where: { email: adminEmail } })).id;
    provider = await registerOrganisation(app, 'PROVIDER');
    other = await registerOrganisation(app, 'PROVIDER');
    buyer = await registerOrganisation(app, 'BUYER', { creditMinor: 0n });
    const site = await createSite(app, provider);
    offerId = (await placeOffer(app, provider, site.id, { market: 'nvidia-h100-80gb', gpus: 8 })).id;
  });

  afterAll(async () => {
    const ids = [provider.organisationId, other.organisationId, buyer.organisationId, ...extraOrganisations];
    // Serving profiles go with their offers (ON DELETE CASCADE).
    await removeMarketplaceData(app, ids);
    const model = await prisma.inferenceModel.findUnique({ where: { slug: addedSlug } });
    if (model) await prisma.inferenceModel.delete({ where: { id: model.id } });
    await prisma.auditLogEntry.deleteMany({ where: { actorUserId: adminUserId } });
    await prisma.user.deleteMany({ where: { email: adminEmail } });
    await app.close();
  });

  describe('catalogue and reference profiles (public)', () => {
    it('lists the models the migration ships, with what sizing needs', async () => {
      const res = await http().get('/v1/inference/models').expect(200);
      const models = (res.body as { data: Array<Record<string, unknown>> }).data;
      expect(models.map((model) => model.slug)).toEqual(
        expect.arrayContaining([
          'qwen2.5-7b-instruct',
          'llama-3.1-8b-instruct',
          'qwen2.5-32b-instruct',
          'qwen3-30b-a3b',
          'llama-3.3-70b-instruct',
          'llama-3.3-70b-instruct-fp8',
          'qwen2.5-72b-instruct-awq',
          'deepseek-v3',
        ]),
      );
      expect(models.find((model) => model.slug === 'deepseek-v3')).toEqual({
        slug: 'deepseek-v3',
        family: 'DeepSeek-V3',
        name: 'DeepSeek-V3 (MoE, FP8)',
        parameters: 671_000_000_000,
        activeParameters: 37_000_000_000,
        quantisation: 'FP8',
        bytesPerParameter: 1,
        contextLength: 131072,
        kvCacheBytesPerToken: 70272,
        createdAt: expect.any(String) as string,
      });
    });

    it('serves example 1 of docs/INFERENCE.md from the seeded H100 figures', async () => {
      const res = await http()
        .get('/v1/inference/reference-profiles')
        .query({ model: 'llama-3.3-70b-instruct', market: 'nvidia-h100-80gb', concurrency: 8 })
        .expect(200);
      expect(res.body).toEqual({
        data: [
          {
            model: 'llama-3.3-70b-instruct',
            market: 'nvidia-h100-80gb',
            concurrency: 8,
            basis: 'DERIVED',
            figures: EXAMPLE_1,
          },
        ],
      });
    });

    it('covers every model x market with GPU figures by default; a model no replica holds says so', async () => {
      const res = await http().get('/v1/inference/reference-profiles').expect(200);
      const rows = (res.body as { data: Array<{ model: string; market: string; basis: string }> }).data;
      const markets = ['nvidia-h100-80gb', 'nvidia-h800-80gb', 'nvidia-h20-96gb', 'nvidia-a100-80gb'];
      markets.push('nvidia-a800-80gb', 'nvidia-l40s-48gb', 'nvidia-rtx-4090-24gb', 'huawei-ascend-910b-64gb');
      for (const market of markets) {
        const row = rows.find((entry) => entry.model === 'qwen2.5-7b-instruct' && entry.market === market);
        expect(row?.basis).toBe('DERIVED');
      }
      const tooBig = await http()
        .get('/v1/inference/reference-profiles')
        .query({ model: 'deepseek-v3', market: 'nvidia-h100-80gb', concurrency: 1024 })
        .expect(200);
      expect(tooBig.body).toMatchObject({ data: [{ basis: 'DOES_NOT_FIT', figures: null }] });
    });

    it('answers 400 for an unknown model or market and a concurrency outside 1..1024', async () => {
      for (const query of [
        { model: 'no-such-model' },
        { market: 'no-such-market' },
        { concurrency: 0 },
        { concurrency: 1025 },
        { concurrency: 'many' },
      ]) {
        const res = await http().get('/v1/inference/reference-profiles').query(query);
        expect([res.status, (res.body as { code: string }).code]).toEqual([400, 'VALIDATION_FAILED']);
      }
    });
  });

  describe('admin: adding a model', () => {
    const body = () => ({
      slug: addedSlug,
      family: 'Test',
      name: 'Test MoE 16B-A2B',
      parameters: 16_000_000_000,
      activeParameters: 2_000_000_000,
      quantisation: 'FP8',
      contextLength: 32768,
      kvCacheBytesPerToken: 65536,
    });

    it('is admin-only: 401 without credentials, 403 for a provider key', async () => {
      await http().post('/admin/inference/models').send(body()).expect(401);
      await http().post('/admin/inference/models').set(provider.auth).send(body()).expect(403);
      expect(await prisma.inferenceModel.count({ where: { slug: addedSlug } })).toBe(0);
    });

    it('refuses active parameters above the total, and bad fields, writing nothing', async () => {
      for (const bad of [
        { activeParameters: 17_000_000_000 },
        { parameters: 0 },
        { parameters: 1.5e9 + 0.5 },
        { quantisation: 'FP4' },
        { contextLength: 1024 },
        { bytesPerParameter: 0 },
        { slug: 'Bad Slug' },
      ]) {
        const res = await http()
          .post('/admin/inference/models')
          .set(admin)
          .send({ ...body(), ...bad });
        expect([JSON.stringify(bad), res.status]).toEqual([JSON.stringify(bad), 400]);
      }
      expect(await prisma.inferenceModel.count({ where: { slug: addedSlug } })).toBe(0);
      expect(await prisma.auditLogEntry.count({ where: { actorUserId: adminUserId } })).toBe(0);
    });

    it('adds the model (audited, FP8 default of 1 byte per parameter), lists it, refuses the slug again', async () => {
      const res = await http().post('/admin/inference/models').set(admin).send(body()).expect(201);
      expect(res.body).toMatchObject({ ...body(), bytesPerParameter: 1 });
      const model = await prisma.inferenceModel.findUniqueOrThrow({ where: { slug: addedSlug } });
      expect(await prisma.auditLogEntry.findMany({ where: { targetId: model.id } })).toMatchObject([
        {
          actorUserId: adminUserId,
          action: 'inference_model.create',
          targetType: 'inference_model',
          details: { model: addedSlug, after: { ...body(), bytesPerParameter: 1 } },
        },
      ]);
      const listed = await http().get('/v1/inference/models').expect(200);
      expect((listed.body as { data: Array<{ slug: string }> }).data.map((entry) => entry.slug)).toContain(
        addedSlug,
      );
      const reference = await http()
        .get('/v1/inference/reference-profiles')
        .query({ model: addedSlug, market: 'nvidia-h20-96gb' })
        .expect(200);
      expect(reference.body).toMatchObject({ data: [{ basis: 'DERIVED', concurrency: 8 }] });
      const again = await http().post('/admin/inference/models').set(admin).send(body()).expect(409);
      expect((again.body as { code: string }).code).toBe('CONFLICT');
      expect(await prisma.auditLogEntry.count({ where: { targetId: model.id } })).toBe(1);
    });
  });

  describe('serving profiles', () => {
    afterEach(async () => {
      await prisma.servingProfile.deleteMany({ where: { offerId } });
    });

    it('declares within the band: NOT_FLAGGED with the reference at the declared concurrency; GET reads it', async () => {
      const res = await put([WITHIN_BAND]).expect(200);
      expect(res.body).toEqual({
        data: [
          {
            id: expect.any(String) as string,
            offerId,
            ...WITHIN_BAND,
            reference: EXAMPLE_1,
            flags: [],
            delivery: { deliveredScales: [], confirmedScale: 1 },
            review: 'NOT_FLAGGED',
            reviewedAt: null,
            reviewReason: null,
            createdAt: expect.any(String) as string,
            updatedAt: expect.any(String) as string,
          },
        ],
      });
      const read = await http().get(profilesUrl(offerId)).set(provider.auth).expect(200);
      expect(read.body).toEqual(res.body);
    });

    it('is the owner’s alone: another provider gets the 404 of a missing offer, a buyer 403', async () => {
      await put([WITHIN_BAND]).expect(200);
      const missing = await put([WITHIN_BAND], other.auth, randomUUID()).expect(404);
      const foreign = await put([WITHIN_BAND], other.auth).expect(404);
      expect(withoutRequestId(foreign.body)).toEqual(withoutRequestId(missing.body));
      const foreignRead = await http().get(profilesUrl(offerId)).set(other.auth).expect(404);
      expect(withoutRequestId(foreignRead.body)).toEqual(withoutRequestId(missing.body));
      await http().get(profilesUrl('not-a-uuid')).set(provider.auth).expect(404);
      await put([WITHIN_BAND], buyer.auth).expect(403);
      await put([], other.auth).expect(404);
      expect(await stored()).toHaveLength(1);
    });

    it('answers 400 for bad declarations and writes nothing', async () => {
      await put([WITHIN_BAND]).expect(200);
      const before = await stored();
      const cases: Array<[string, unknown]> = [
        ['zero prompt throughput', [{ ...WITHIN_BAND, promptTokensPerSecondPerGpu: 0 }]],
        ['zero output throughput', [{ ...WITHIN_BAND, outputTokensPerSecondPerGpu: 0 }]],
        ['negative throughput', [{ ...WITHIN_BAND, outputTokensPerSecondPerGpu: -5 }]],
        ['NaN as a string', [{ ...WITHIN_BAND, outputTokensPerSecondPerGpu: 'NaN' }]],
        ['overflowing throughput', [{ ...WITHIN_BAND, outputTokensPerSecondPerGpu: 1e308 }]],
        ['fractional TTFT', [{ ...WITHIN_BAND, ttftP50Ms: 120.5 }]],
        ['p95 below p50', [{ ...WITHIN_BAND, ttftP50Ms: 300, ttftP95Ms: 200 }]],
        ['zero concurrency', [{ ...WITHIN_BAND, concurrency: 0 }]],
        ['unknown model', [{ ...WITHIN_BAND, model: 'no-such-model' }]],
        ['repeated model', [WITHIN_BAND, { ...WITHIN_BAND, concurrency: 16 }]],
        ['unknown field', [{ ...WITHIN_BAND, gpus: 4 }]],
        ['too many', Array.from({ length: 33 }, () => WITHIN_BAND)],
        ['not a list', WITHIN_BAND],
      ];
      for (const [name, profiles] of cases) {
        const res = await http().put(profilesUrl(offerId)).set(provider.auth).send({ profiles });
        expect([name, res.status, (res.body as { code: string }).code]).toEqual([
          name,
          400,
          'VALIDATION_FAILED',
        ]);
      }
      const p95 = await put([{ ...WITHIN_BAND, ttftP50Ms: 300, ttftP95Ms: 200 }]);
      expect(p95.body).toMatchObject({ details: { field: 'profiles.0.ttftP95Ms' } });
      expect(await stored()).toEqual(before);
    });

    it('flags a declaration outside the band for review; the admin lists it and accepts it (audited)', async () => {
      const declared = await put([
        { ...WITHIN_BAND, outputTokensPerSecondPerGpu: 700, ttftP95Ms: 120 },
        SMALL_MODEL,
      ]).expect(200);
      const [flagged, small] = (declared.body as { data: Profile[] }).data;
      expect(flagged).toMatchObject({
        model: 'llama-3.3-70b-instruct',
        flags: ['OUTPUT_THROUGHPUT_ABOVE_REFERENCE', 'TTFT_P95_BELOW_REFERENCE'],
        review: 'PENDING_REVIEW',
      });
      expect(small).toMatchObject({ model: 'qwen2.5-7b-instruct', flags: [], review: 'NOT_FLAGGED' });
      if (!flagged || !small) throw new Error('two profiles');

      const pending = await http().get('/admin/inference/serving-profiles').set(admin).expect(200);
      const pendingIds = (pending.body as { data: Profile[] }).data.map((profile) => profile.id);
      expect(pendingIds).toContain(flagged.id);
      expect(pendingIds).not.toContain(small.id);
      await http().get('/admin/inference/serving-profiles').set(provider.auth).expect(403);
      await http().get('/admin/inference/serving-profiles').query({ review: 'MAYBE' }).set(admin).expect(400);

      const reviewUrl = `/admin/inference/serving-profiles/${flagged.id}/review`;
      await http().post(reviewUrl).set(provider.auth).send({ decision: 'ACCEPT', reason: 'x' }).expect(403);
      await http().post(reviewUrl).set(admin).send({ decision: 'MAYBE', reason: 'x' }).expect(400);
      const accepted = await http()
        .post(reviewUrl)
        .set(admin)
        .send({ decision: 'ACCEPT', reason: 'Measured on site with speculative decoding' })
        .expect(200);
      expect(accepted.body).toMatchObject({
        id: flagged.id,
        organisationId: provider.organisationId,
        review: 'ACCEPTED',
        reviewedByUserId: adminUserId,
        reviewReason: 'Measured on site with speculative decoding',
      });
      // Restating the decision changes nothing and records nothing.
      await http().post(reviewUrl).set(admin).send({ decision: 'ACCEPT', reason: 'again' }).expect(200);
      expect(await prisma.auditLogEntry.findMany({ where: { targetId: flagged.id } })).toMatchObject([
        {
          actorUserId: adminUserId,
          action: 'serving_profile.accept',
          targetType: 'serving_profile',
          details: {
            offerId,
            organisationId: provider.organisationId,
            model: 'llama-3.3-70b-instruct',
            flags: ['OUTPUT_THROUGHPUT_ABOVE_REFERENCE', 'TTFT_P95_BELOW_REFERENCE'],
            before: { review: 'PENDING_REVIEW' },
            after: { review: 'ACCEPTED' },
            reason: 'Measured on site with speculative decoding',
          },
        },
      ]);
      // Nothing to decide on an unflagged profile; an unknown one is 404.
      await http()
        .post(`/admin/inference/serving-profiles/${small.id}/review`)
        .set(admin)
        .send({ decision: 'REJECT', reason: 'x' })
        .expect(409);
      await http()
        .post(`/admin/inference/serving-profiles/${randomUUID()}/review`)
        .set(admin)
        .send({ decision: 'REJECT', reason: 'x' })
        .expect(404);

      // A restated declaration keeps its review; a changed one is checked again, the decision gone.
      const restated = await put([
        { ...WITHIN_BAND, outputTokensPerSecondPerGpu: 700, ttftP95Ms: 120 },
        SMALL_MODEL,
      ]);
      expect((restated.body as { data: Profile[] }).data[0]).toMatchObject({
        id: flagged.id,
        review: 'ACCEPTED',
      });
      const changed = await put([
        { ...WITHIN_BAND, outputTokensPerSecondPerGpu: 800, ttftP95Ms: 120 },
      ]).expect(200);
      expect((changed.body as { data: Profile[] }).data).toMatchObject([
        { id: flagged.id, review: 'PENDING_REVIEW', reviewedAt: null },
      ]);
      const rejected = await http()
        .post(reviewUrl)
        .set(admin)
        .send({ decision: 'REJECT', reason: 'No' })
        .expect(200);
      expect(rejected.body).toMatchObject({ review: 'REJECTED' });
      const actions = await prisma.auditLogEntry.findMany({
        where: { targetId: flagged.id },
        orderBy: { createdAt: 'asc' },
      });
      expect(actions.map((entry) => entry.action)).toEqual([
        'serving_profile.accept',
        'serving_profile.reject',
      ]);
      await prisma.auditLogEntry.deleteMany({ where: { targetId: flagged.id } });
    });

    it('flags a model the market’s GPUs cannot hold at the declared concurrency', async () => {
      const res = await put([
        { ...WITHIN_BAND, model: 'deepseek-v3', concurrency: 1024, ttftP50Ms: 1000, ttftP95Ms: 2000 },
      ]).expect(200);
      expect(res.body).toMatchObject({
        data: [
          { model: 'deepseek-v3', reference: null, flags: ['MODEL_DOES_NOT_FIT'], review: 'PENDING_REVIEW' },
        ],
      });
    });

    it('an empty list removes the set; a cancelled offer serves nothing (409)', async () => {
      await put([WITHIN_BAND, SMALL_MODEL]).expect(200);
      expect(await put([]).expect(200)).toMatchObject({ body: { data: [] } });
      expect(await stored()).toHaveLength(0);
      const site = await createSite(app, provider);
      const cancelled = await placeOffer(app, provider, site.id, { market: 'nvidia-h100-80gb', gpus: 1 });
      await http().post(`/v1/offers/${cancelled.id}/cancel`).set(provider.auth).expect(200);
      const res = await put([WITHIN_BAND], provider.auth, cancelled.id).expect(409);
      expect((res.body as { code: string }).code).toBe('CONFLICT');
    });

    it('a suspended provider reads its profiles but declares nothing (403), its cached key notwithstanding', async () => {
      const suspended = await registerOrganisation(app, 'PROVIDER');
      extraOrganisations.push(suspended.organisationId);
      const site = await createSite(app, suspended);
      const offer = await placeOffer(app, suspended, site.id, { market: 'nvidia-h100-80gb', gpus: 2 });
      await put([WITHIN_BAND], suspended.auth, offer.id).expect(200);
      // Straight in the database, as another API process's suspension would be: this process's key cache is stale.
      await prisma.organisation.update({
        where: { id: suspended.organisationId },
        data: { status: 'SUSPENDED' },
      });
      const res = await put([SMALL_MODEL], suspended.auth, offer.id).expect(403);
      expect(res.body).toMatchObject({ code: 'FORBIDDEN', details: { reason: 'ORGANISATION_SUSPENDED' } });
      await http().get(profilesUrl(offer.id)).set(suspended.auth).expect(200);
      const rows = await prisma.servingProfile.findMany({ where: { offerId: offer.id } });
      expect(rows.map((row) => row.concurrency)).toEqual([WITHIN_BAND.concurrency]);
    });
  });
});
