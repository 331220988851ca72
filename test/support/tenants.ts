import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes, randomUUID } from 'node:crypto';
import request from 'supertest';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { fundBuyer, TEST_BUYER_CREDIT_MINOR } from './funding';

export interface TestTenant {
  organisationId: string;
  ownerId: string;
  apiKey: string;
  /** Headers for API-key requests. */
  auth: { authorization: string };
  email: string;
  password: string;
}

/**
 * A fresh organisation through the public API; `verified` promotes it as an admin would. Buyers
 * start with plenty of credit for their bids' holds (`creditMinor`, 0 for none).
 */
export async function registerOrganisation(
  app: NestFastifyApplication,
  role: 'PROVIDER' | 'BUYER',
  opts: { verified?: boolean; creditMinor?: bigint } = {},
): Promise<TestTenant> {
  const email = `owner-${randomBytes(6).toString('hex')}@${role.toLowerCase()}.test`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  const res = await request(app.getHttpServer())
    .post('/v1/organisations')
    .set('idempotency-key', randomUUID())
    .send({ name: `${role} ${email}`, role, owner: { email, password } });
  if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${JSON.stringify(res.body)}`);
  const body = res.body as { organisation: { id: string }; owner: { id: string }; apiKey: { key: string } };
  const prisma = app.get(PrismaService);
  const credit = opts.creditMinor ?? TEST_BUYER_CREDIT_MINOR;
  if (role === 'BUYER' && credit > 0n) {
    await fundBuyer(
      (sql, ...params) => prisma.$executeRawUnsafe(sql, ...params),
      body.organisation.id,
      credit,
    );
  }
  if (opts.verified) {
    await prisma.organisation.update({
      where: { id: body.organisation.id },
      data: { status: 'VERIFIED', verifiedAt: new Date() },
    });
  }
  return {
    organisationId: body.organisation.id,
    ownerId: body.owner.id,
    apiKey: body.apiKey.key,
    auth: { authorization: `Bearer ${body.apiKey.key}` },
    email,
    password,
  };
}

/** Signs the tenant's owner in; returns Bearer headers for the access token and the refresh token. */
export async function signIn(
  app: NestFastifyApplication,
  tenant: Pick<TestTenant, 'email' | 'password'>,
): Promise<{ auth: { authorization: string }; refreshToken: string }> {
  const res = await request(app.getHttpServer())
    .post('/v1/auth/login')
    .send({ email: tenant.email, password: tenant.password });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  const body = res.body as { accessToken: string; refreshToken: string };
  return { auth: { authorization: `Bearer ${body.accessToken}` }, refreshToken: body.refreshToken };
}

/**
 * A verified provider and a verified buyer with 10,000.00 of credit, the two sides of a suite's
 * leases; their organisation ids are added to `ids` for the suite's clean-up.
 */
export async function tradingPair(
  app: NestFastifyApplication,
  ids: string[],
): Promise<{ provider: TestTenant; buyer: TestTenant }> {
  const provider = await registerOrganisation(app, 'PROVIDER', { verified: true });
  const buyer = await registerOrganisation(app, 'BUYER', { verified: true, creditMinor: 1_000_000n });
  ids.push(provider.organisationId, buyer.organisationId);
  return { provider, buyer };
}
