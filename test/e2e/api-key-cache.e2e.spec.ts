import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { ApiKeysRepository } from '@/modules/organisations/api-keys.repository';
import { ApiKeyLimiter } from '@/modules/organisations/auth/api-key-limiter';
import { startHttpApp } from '../support/http-app';
import { testConfig } from '../support/test-env';
import { registerOrganisation, signIn } from '../support/tenants';

const TTL_MS = 400;

/** API keys verified recently are reused for at most API_KEY_CACHE_TTL_MS (docs/API.md). */
describe('API key cache', () => {
  let app: NestFastifyApplication;
  const http = () => request(app.getHttpServer());
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
        API_KEY_CACHE_TTL_MS: String(TTL_MS),
      }),
    );
  });

  afterAll(async () => {
    await app.close();
  });

  const firstKeyId = async (owner: { authorization: string }): Promise<string> => {
    const list = await http().get('/v1/api-keys').set(owner).expect(200);
    return (list.body as { data: Array<{ id: string }> }).data[0]!.id;
  };

  it('refuses a cached key at once when it is revoked through this process', async () => {
    const tenant = await registerOrganisation(app, 'BUYER');
    await http().get('/v1/organisation').set(tenant.auth).expect(200);
    const owner = (await signIn(app, tenant)).auth;
    await http()
      .post(`/v1/api-keys/${await firstKeyId(owner)}/revoke`)
      .set(owner)
      .expect(200);
    const res = await http().get('/v1/organisation').set(tenant.auth).expect(401);
    expect(res.body).toMatchObject({ message: 'The API key has been revoked.' });
  });

  it('refuses a cached key at once when rotation ends its overlap through this process', async () => {
    const tenant = await registerOrganisation(app, 'BUYER');
    await http().get('/v1/organisation').set(tenant.auth).expect(200);
    const owner = (await signIn(app, tenant)).auth;
    const rotated = await http()
      .post(`/v1/api-keys/${await firstKeyId(owner)}/rotate`)
      .set(owner)
      .set('idempotency-key', randomUUID())
      .send({ overlapSeconds: 0 })
      .expect(201);
    const res = await http().get('/v1/organisation').set(tenant.auth).expect(401);
    expect(res.body).toMatchObject({ message: 'The API key has expired.' });
    const fresh = (rotated.body as { key: string }).key;
    await http().get('/v1/organisation').set('authorization', `Bearer ${fresh}`).expect(200);
  });

  it('applies a revocation made elsewhere within the TTL, not before the entry lapses', async () => {
    const tenant = await registerOrganisation(app, 'BUYER');
    await http().get('/v1/organisation').set(tenant.auth).expect(200);
    // As another API process (or an operator's SQL) would: this process is not told.
    await app.get(PrismaService).apiKey.updateMany({
      where: { organisationId: tenant.organisationId },
      data: { revokedAt: new Date() },
    });
    await http().get('/v1/organisation').set(tenant.auth).expect(200);
    await sleep(TTL_MS + 50);
    const res = await http().get('/v1/organisation').set(tenant.auth).expect(401);
    expect(res.body).toMatchObject({ message: 'The API key has been revoked.' });
  });

  it('applies a suspension made elsewhere within the TTL: writes refused once the entry lapses', async () => {
    const tenant = await registerOrganisation(app, 'BUYER');
    await http().get('/v1/organisation').set(tenant.auth).expect(200);
    await app.get(PrismaService).organisation.update({
      where: { id: tenant.organisationId },
      data: { status: 'SUSPENDED', suspendedAt: new Date() },
    });
    await sleep(TTL_MS + 50);
    const res = await http()
      .post('/v1/bids')
      .set(tenant.auth)
      .set('idempotency-key', randomUUID())
      .send({})
      .expect(403);
    expect(res.body).toMatchObject({ message: 'The organisation is suspended: read-only access.' });
  });

  it('still checks the secret of a cached key: another secret under the same prefix is refused', async () => {
    const tenant = await registerOrganisation(app, 'BUYER');
    await http().get('/v1/organisation').set(tenant.auth).expect(200);
    const other = await registerOrganisation(app, 'BUYER');
    // This key's prefix with the other key's secret and a valid checksum: well formed, wrong secret.
    const body = `${tenant.apiKey.slice(0, 20)}${other.apiKey.slice(20, 64)}`;
    const forged = `${body}${createHash('sha256').update(body, 'utf8').digest('base64url').slice(0, 6)}`;
    const res = await http().get('/v1/organisation').set('authorization', `Bearer ${forged}`).expect(401);
    expect(res.body).toMatchObject({ message: 'The API key is not valid.' });
  });

  it('reads a lapsed key once for the requests that present it together, and stamps its use once', async () => {
    const tenant = await registerOrganisation(app, 'BUYER');
    await http().get('/v1/organisation').set(tenant.auth).expect(200);
    const stale = new Date(Date.now() - 10 * 60_000);
    await app.get(PrismaService).apiKey.updateMany({
      where: { organisationId: tenant.organisationId },
      data: { lastUsedAt: stale },
    });
    await sleep(TTL_MS + 50);

    // Every request reaches the key's read before the first read may finish: the read waits
    // until all of them have asked the limiter (the step just before it) and a macrotask more.
    const requests = 12;
    const limiter = app.get(ApiKeyLimiter);
    const keys = app.get(ApiKeysRepository);
    let asked = 0;
    let release!: () => void;
    const allAsked = new Promise<void>((resolve) => (release = resolve));
    const askLimiter = limiter.sourceBlockedFor.bind(limiter);
    const readKey = keys.systemFindByPrefix.bind(keys);
    const limiterSpy = jest
      .spyOn(limiter, 'sourceBlockedFor')
      .mockImplementation(async (source, askShared) => {
        const blockedMs = await askLimiter(source, askShared);
        if (askShared && (asked += 1) === requests) setTimeout(release, 0);
        return blockedMs;
      });
    const reads = jest.spyOn(keys, 'systemFindByPrefix').mockImplementation(async (prefix) => {
      await allAsked;
      return readKey(prefix);
    });
    const touches = jest.spyOn(keys, 'systemTouch');
    try {
      const answers = await Promise.all(
        Array.from({ length: requests }, () => http().get('/v1/organisation').set(tenant.auth)),
      );
      expect(answers.map((res) => res.status)).toEqual(Array<number>(requests).fill(200));
      expect(asked).toBe(requests);
      expect(reads).toHaveBeenCalledTimes(1);
      expect(touches).toHaveBeenCalledTimes(1);
    } finally {
      limiterSpy.mockRestore();
      reads.mockRestore();
      touches.mockRestore();
    }
    const [stamped] = await app.get(PrismaService).apiKey.findMany({
      where: { organisationId: tenant.organisationId },
    });
    expect(stamped!.lastUsedAt!.getTime()).toBeGreaterThan(stale.getTime());
  });
});
