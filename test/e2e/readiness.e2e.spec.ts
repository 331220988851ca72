import request from 'supertest';
import { startHttpApp } from '../support/http-app';
import { testConfig } from '../support/test-env';
import { waitFor } from '../support/wait-for';

// Closed ports on loopback stand for a dependency that is down.
const CLOSED_REDIS = 'redis://127.0.0.1:6391';
const CLOSED_POSTGRES = 'postgresql://postgres@127.0.0.1:5439/compute_exchange_test_down';

describe('readiness reflects the process’s own dependencies', () => {
  it('is 503 naming Redis when Redis is down, while liveness stays 200', async () => {
    const app = await startHttpApp(testConfig({ REDIS_URL: CLOSED_REDIS }));
    try {
      await request(app.getHttpServer()).get('/health/live').expect(200);
      // PostgreSQL's probe has 1.5 s; on a loaded machine the first one, opening the pool's first
      // connection, can run out of it. Wait for an answer that has PostgreSQL up, then check it.
      const res = await waitFor('a readiness answer with PostgreSQL up', async () => {
        const answer = await request(app.getHttpServer()).get('/health/ready').expect(503);
        const info = (answer.body as { details?: { info?: Record<string, unknown> } }).details?.info ?? {};
        return 'postgres' in info ? answer : undefined;
      });
      expect(res.body).toMatchObject({
        statusCode: 503,
        code: 'SERVICE_UNAVAILABLE',
        details: {
          status: 'error',
          error: { redis: { status: 'down' } },
          info: { postgres: { status: 'up' } },
        },
      });
      expect(typeof (res.body as { requestId: unknown }).requestId).toBe('string');
    } finally {
      await app.close();
    }
  });

  it('is 503 naming PostgreSQL when PostgreSQL is down', async () => {
    const app = await startHttpApp(testConfig({ DATABASE_URL: CLOSED_POSTGRES }));
    try {
      const res = await request(app.getHttpServer()).get('/health/ready').expect(503);
      expect(res.body).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        details: { error: { postgres: { status: 'down' } }, info: { redis: { status: 'up' } } },
      });
    } finally {
      await app.close();
    }
  });
});
