import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { parseApiKey } from '@/modules/organisations/domain/api-key';
import { canonicalJson } from '@/shared/canonical-json';
import { startHttpApp } from '../support/http-app';
import { registerOrganisation, signIn, type TestTenant } from '../support/tenants';
import { testConfig } from '../support/test-env';

interface StoredRecord {
  scope: string;
  fingerprint: string;
  body: string;
}

interface Registration {
  organisation: { id: string; name: string; status: string };
  owner: { id: string; email: string };
  apiKey: { id: string; prefix: string; lastFour: string; key: string | null };
}

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** Field names and JSON types, recursively: two answers of one shape map to equal values. */
function shapeOf(value: unknown): unknown {
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.map(shapeOf);
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, inner]) => [key, shapeOf(inner)]),
    );
  }
  return typeof value;
}

describe('idempotency records, secrets and registration', () => {
  let app: NestFastifyApplication;
  let prisma: PrismaService;
  const http = () => request(app.getHttpServer());

  beforeAll(async () => {
    app = await startHttpApp(
      testConfig({
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_PUBLIC_PER_MINUTE: '100000',
        WEBHOOK_ALLOW_LOOPBACK: 'true',
      }),
    );
    prisma = app.get(PrismaService);
  });

  afterAll(async () => {
    await app.close();
  });

  const recordsUnder = (key: string): Promise<StoredRecord[]> =>
    prisma.$queryRaw<StoredRecord[]>`
      SELECT scope, fingerprint, response_body::text AS body FROM idempotency_records WHERE key = ${key}`;

  const register = (key: string, body: Record<string, unknown>) =>
    http().post('/v1/organisations').set('idempotency-key', key).send(body);

  const registration = (email: string, password = 'a long registration password', name = 'Idem Records') => ({
    name,
    role: 'BUYER',
    owner: { email, password },
  });

  const uniqueEmail = (tag: string) => `${tag}-${randomUUID()}@records.test`;

  /** Posts once, checks the stored record holds no trace of the secret, then replays. */
  async function postAndReplay(
    path: string,
    headers: Record<string, string>,
    body: Record<string, unknown>,
    secretOf: (answer: Record<string, unknown>) => string,
  ): Promise<{ first: Record<string, unknown>; replay: Record<string, unknown>; secret: string }> {
    const key = randomUUID();
    const created = await http().post(path).set(headers).set('idempotency-key', key).send(body).expect(201);
    const first = created.body as Record<string, unknown>;
    const secret = secretOf(first);
    expect(secret.length).toBeGreaterThan(20);
    const records = await recordsUnder(key);
    expect(records).toHaveLength(1);
    expect(records[0]!.body).not.toContain(secret);
    const again = await http().post(path).set(headers).set('idempotency-key', key).send(body).expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    return { first, replay: again.body as Record<string, unknown>, secret };
  }

  describe('stores answers without their secrets; a replay answers the secret as null', () => {
    let tenant: TestTenant;
    let owner: { auth: { authorization: string } };

    beforeAll(async () => {
      tenant = await registerOrganisation(app, 'BUYER');
      owner = await signIn(app, tenant);
    });

    it('registration: the first API key', async () => {
      const { first, replay, secret } = await postAndReplay(
        '/v1/organisations',
        {},
        registration(uniqueEmail('reg')),
        (answer) => (answer as unknown as Registration).apiKey.key!,
      );
      // The secret part alone (after the public prefix) is not stored either.
      const prefix = (first as unknown as Registration).apiKey.prefix;
      const records = await prisma.$queryRaw<Array<{ body: string }>>`
        SELECT response_body::text AS body FROM idempotency_records WHERE response_body::text LIKE ${`%${prefix}%`}`;
      expect(records.length).toBeGreaterThan(0);
      for (const record of records) expect(record.body).not.toContain(secret.slice(prefix.length + 1, -4));
      const firstKey = (first as unknown as Registration).apiKey;
      expect(replay).toEqual({ ...first, apiKey: { ...firstKey, key: null } });
    });

    it('API key creation and rotation', async () => {
      const created = await postAndReplay('/v1/api-keys', owner.auth, { name: 'records' }, (answer) =>
        String(answer.key),
      );
      expect(created.replay).toEqual({ ...created.first, key: null });
      // The fresh answer's key works; the replay only names it.
      await http().get('/v1/organisation').set('authorization', `Bearer ${created.secret}`).expect(200);

      const rotated = await postAndReplay(
        `/v1/api-keys/${String(created.first.id)}/rotate`,
        owner.auth,
        { overlapSeconds: 60 },
        (answer) => String(answer.key),
      );
      expect(rotated.replay).toEqual({ ...rotated.first, key: null });
    });

    it('webhook signing secret', async () => {
      const { first, replay } = await postAndReplay(
        '/v1/webhooks',
        tenant.auth,
        { url: 'http://127.0.0.1:9/records', eventTypes: ['bid.placed'] },
        (answer) => String(answer.secret),
      );
      expect(replay).toEqual({ ...first, secret: null });
    });

    it('invitation token', async () => {
      const { first, replay } = await postAndReplay(
        '/v1/invitations',
        owner.auth,
        { email: uniqueEmail('invitee') },
        (answer) => String(answer.token),
      );
      expect(replay).toEqual({ ...first, token: null });
    });
  });

  it('scrubs the secrets of records stored before they were withheld (migration)', async () => {
    const migration = readFileSync(
      join(
        __dirname,
        '../../prisma/migrations/20261205064655_idempotency_records_without_secrets/migration.sql',
      ),
      'utf8',
    );
    const organisation = randomUUID();
    const legacy: Array<[string, string, unknown]> = [
      [
        'registration',
        randomUUID(),
        { organisation: { id: 'o' }, apiKey: { id: 'k', key: 'cx_test_legacy_one' } },
      ],
      [organisation, randomUUID(), { id: 'k', prefix: 'cx_test_p', key: 'cx_test_legacy_two' }],
      [organisation, randomUUID(), { id: 'w', url: 'https://hooks.example', secret: 'whsec_legacy' }],
      [organisation, randomUUID(), { id: 'i', email: 'x@y.test', token: 'cxinv_legacy' }],
      [organisation, randomUUID(), { id: 'b', gpus: 8, maxPricePerGpuHour: '18.20' }],
    ];
    const now = new Date();
    for (const [scope, key, body] of legacy) {
      await prisma.$executeRaw`
        INSERT INTO idempotency_records (scope, key, fingerprint, status_code, response_body, created_at, expires_at)
        VALUES (${scope}, ${key}, ${'0'.repeat(64)}, 201, ${JSON.stringify(body)}::jsonb, ${now},
                ${new Date(now.getTime() + 3_600_000)})`;
    }
    const statements = migration
      .split('\n')
      .filter((line) => !line.startsWith('--'))
      .join('\n')
      .split(';')
      .map((statement) => statement.trim())
      .filter((statement) => statement.length > 0);
    for (const statement of statements) await prisma.$executeRawUnsafe(statement);

    const bodies = await Promise.all(legacy.map(async ([, key]) => (await recordsUnder(key))[0]?.body));
    expect(bodies[0]).toBeUndefined();
    expect(JSON.parse(bodies[1]!)).toEqual({ id: 'k', prefix: 'cx_test_p', key: null });
    expect(JSON.parse(bodies[2]!)).toEqual({ id: 'w', url: 'https://hooks.example', secret: null });
    expect(JSON.parse(bodies[3]!)).toEqual({ id: 'i', email: 'x@y.test', token: null });
    expect(JSON.parse(bodies[4]!)).toEqual(legacy[4]![2]);
  });

  it('fingerprints registration with a keyed hash that leaves the password out', async () => {
    const email = uniqueEmail('fp');
    const body = registration(email, 'the first long password');
    const key = randomUUID();
    await register(key, body).expect(201);
    const [record] = await recordsUnder(key);
    const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
    const { password: _password, ...ownerWithoutPassword } = body.owner;
    // Neither a plain hash of the body nor of the body without its password: nothing to test guesses against.
    expect(record!.fingerprint).not.toBe(sha256(`POST /v1/organisations\n${canonicalJson(body)}`));
    expect(record!.fingerprint).not.toBe(
      sha256(`POST /v1/organisations\n${canonicalJson({ ...body, owner: ownerWithoutPassword })}`),
    );

    // Another password under another key stores the same fingerprint: it does not depend on the password.
    const otherKey = randomUUID();
    await register(otherKey, registration(email, 'a second long password')).expect(201);
    const [other] = await recordsUnder(otherKey);
    expect(other!.fingerprint).toBe(record!.fingerprint);

    // Another password with the same key and other fields replays: the password is not part of it.
    const otherPassword = await register(key, registration(email, 'a third long password')).expect(201);
    expect(otherPassword.headers['idempotent-replayed']).toBe('true');

    // The same key and body still replay; another body under the key is still 422.
    const replay = await register(key, body).expect(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    const changed = await register(key, registration(email, 'the first long password', 'Renamed')).expect(
      422,
    );
    expect(changed.body).toMatchObject({ code: 'UNPROCESSABLE' });
  });

  it('answers a registration for a taken email like a new one, with credentials that do not work', async () => {
    const existing = await registerOrganisation(app, 'PROVIDER');
    const fresh = await register(randomUUID(), registration(uniqueEmail('fresh'))).expect(201);
    const name = `Duplicate ${randomUUID()}`;
    const duplicate = await register(
      randomUUID(),
      registration(existing.email.toUpperCase(), 'some other long password', name),
    ).expect(201);
    expect(duplicate.headers['idempotent-replayed']).toBeUndefined();
    expect(shapeOf(duplicate.body)).toEqual(shapeOf(fresh.body));
    const answer = duplicate.body as Registration;
    expect(answer.organisation).toMatchObject({ name, status: 'PENDING_VERIFICATION' });
    expect(answer.owner.email).toBe(existing.email);
    expect(answer.organisation.id).toMatch(UUID_V7);
    expect(answer.owner.id).toMatch(UUID_V7);
    expect(answer.apiKey.id).toMatch(UUID_V7);
    expect(answer.organisation.id).not.toBe(existing.organisationId);
    expect(parseApiKey(answer.apiKey.key)).toEqual({ prefix: answer.apiKey.prefix, env: 'test' });

    // Nothing was created, the answer's key opens nothing, and the real owner is untouched.
    expect(await prisma.organisation.count({ where: { name } })).toBe(0);
    expect(await prisma.user.count({ where: { email: existing.email } })).toBe(1);
    await http().get('/v1/organisation').set('authorization', `Bearer ${answer.apiKey.key}`).expect(401);
    await signIn(app, existing);
  });

  it('answers concurrent registrations of one new email alike and creates one organisation', async () => {
    const email = uniqueEmail('race');
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        register(randomUUID(), registration(email, `race password number ${i}`, `Race ${i}`)),
      ),
    );
    expect(answers.map((answer) => answer.status)).toEqual([201, 201, 201, 201, 201]);
    expect(await prisma.user.count({ where: { email } })).toBe(1);
  });

  it('scopes registration keys by the email registered: another caller’s body neither collides nor replays', async () => {
    const key = randomUUID();
    const emailA = uniqueEmail('caller-a');
    const first = await register(key, registration(emailA, 'caller a long password', 'Caller A')).expect(201);
    const a = first.body as Registration;

    // Another caller who picked the same key for its own registration gets its own organisation.
    const emailB = uniqueEmail('caller-b');
    const second = await register(key, registration(emailB, 'caller b long password', 'Caller B')).expect(
      201,
    );
    const b = second.body as Registration;
    expect(second.headers['idempotent-replayed']).toBeUndefined();
    expect(b.organisation.id).not.toBe(a.organisation.id);
    expect(b.owner.email).toBe(emailB);
    const me = await http()
      .get('/v1/organisation')
      .set('authorization', `Bearer ${b.apiKey.key}`)
      .expect(200);
    expect((me.body as { id: string }).id).toBe(b.organisation.id);

    // Someone with A's email and key but another body: 422, and nothing of A's answer.
    const third = await register(key, registration(emailA, 'a guessed long password', 'Intruder')).expect(
      422,
    );
    const text = JSON.stringify(third.body);
    for (const leaked of [a.organisation.id, a.owner.id, a.apiKey.id, a.apiKey.prefix]) {
      expect(text).not.toContain(leaked);
    }
  });
});
