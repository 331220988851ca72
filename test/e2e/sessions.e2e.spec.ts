import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, signIn } from '../support/tenants';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';

/** A revoked session's access tokens are refused within this bound on every API process (docs/API.md, Sessions). */
const REVOCATION_BOUND_MS = 5_000;

describe('access tokens end with their session', () => {
  // Two API processes sharing PostgreSQL and Redis, as two replicas behind a load balancer.
  let one: NestFastifyApplication;
  let two: NestFastifyApplication;

  beforeAll(async () => {
    const config = testConfig({ RATE_LIMIT_PER_MINUTE: '100000', RATE_LIMIT_PUBLIC_PER_MINUTE: '100000' });
    one = await startHttpApp(config);
    two = await startHttpApp(config);
  });

  afterAll(async () => {
    await one.close();
    await two.close();
  });

  const statusOf = async (app: NestFastifyApplication, auth: { authorization: string }): Promise<number> =>
    (await request(app.getHttpServer()).get('/v1/organisation').set(auth)).status;

  /** Waits, up to the documented bound, until every process refuses the token. */
  const refusedEverywhere = async (auth: { authorization: string }): Promise<void> => {
    for (const app of [one, two]) {
      await waitFor(
        'the access token to be refused',
        async () => ((await statusOf(app, auth)) === 401 ? true : undefined),
        REVOCATION_BOUND_MS,
      );
    }
  };

  it('refuses an access token once its session is signed out, on every API process', async () => {
    const tenant = await registerOrganisation(one, 'BUYER');
    const session = await signIn(one, tenant);
    const other = await signIn(one, tenant);
    expect(await statusOf(one, session.auth)).toBe(200);
    expect(await statusOf(two, session.auth)).toBe(200);

    await request(two.getHttpServer())
      .post('/v1/auth/logout')
      .send({ refreshToken: session.refreshToken })
      .expect(204);
    await refusedEverywhere(session.auth);
    const refused = await request(one.getHttpServer()).get('/v1/organisation').set(session.auth).expect(401);
    expect(refused.body).toMatchObject({ code: 'UNAUTHENTICATED' });
    // The person's other session is not signed out.
    expect(await statusOf(one, other.auth)).toBe(200);
    expect(await statusOf(two, other.auth)).toBe(200);
  });

  it('refuses every access token of a session whose reused refresh token revoked it', async () => {
    const tenant = await registerOrganisation(one, 'BUYER');
    const first = await signIn(one, tenant);
    const rotated = await request(one.getHttpServer())
      .post('/v1/auth/refresh')
      .send({ refreshToken: first.refreshToken })
      .expect(200);
    const second = { authorization: `Bearer ${(rotated.body as { accessToken: string }).accessToken}` };
    expect(await statusOf(two, first.auth)).toBe(200);
    expect(await statusOf(two, second)).toBe(200);

    // A replay of the used refresh token (a thief's, or the owner's after a thief's) ends the session.
    await request(two.getHttpServer())
      .post('/v1/auth/refresh')
      .send({ refreshToken: first.refreshToken })
      .expect(401);
    await refusedEverywhere(first.auth);
    await refusedEverywhere(second);
    // Signing in again opens a new session that works.
    expect(await statusOf(two, (await signIn(two, tenant)).auth)).toBe(200);
  });
});
