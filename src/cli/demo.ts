/**
 * `npm run demo`: against a running exchange, makes a verified provider and a funded buyer the
 * way people would (registration, an admin's verification, a top-up the admin confirms) and
 * prints shell `export`s of their keys (and the provider owner's sign-in), so `eval "$(npm run -s demo)"` sets up the README's
 * walkthrough. The admin is a new platform admin made by the admin CLI (`admin.js`).
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { loadEnvironment } from '@/config/app-config';

const TOP_UP = '10000.00';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

class Exchange {
  constructor(readonly base: string) {}

  async call(method: 'GET' | 'POST', path: string, token?: string, body?: unknown): Promise<Answer> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(method === 'POST' ? { 'idempotency-key': randomUUID() } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
  }

  async expect(
    status: number,
    method: 'GET' | 'POST',
    path: string,
    token?: string,
    body?: unknown,
  ): Promise<Record<string, unknown>> {
    const answer = await this.call(method, path, token, body);
    if (answer.status !== status)
      throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer.body;
  }
}

/** The admin CLI with the password on standard input, exactly as a person would run it. */
function createAdmin(email: string, password: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'admin.js'), 'create-admin', email], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`admin create-admin failed: ${stderr.trim()}`)),
    );
    child.stdin.end(`${password}\n`);
  });
}

async function register(
  exchange: Exchange,
  role: 'PROVIDER' | 'BUYER',
  name: string,
  tag: string,
): Promise<{ id: string; key: string; email: string; password: string }> {
  const owner = {
    email: `${role.toLowerCase()}-${tag}@demo.example`,
    password: randomBytes(18).toString('base64url'),
  };
  const body = await exchange.expect(201, 'POST', '/v1/organisations', undefined, { name, role, owner });
  const organisation = body.organisation as { id: string };
  const apiKey = body.apiKey as { key: string };
  return { id: organisation.id, key: apiKey.key, ...owner };
}

async function main(args: string[]): Promise<number> {
  const env = loadEnvironment(undefined, { requireSecrets: false });
  if (env.NODE_ENV === 'production')
    throw new Error('the demo makes an admin and fake money: not in production');
  const [flag, url, ...rest] = args;
  if (
    (flag !== undefined && flag !== '--api') ||
    (flag === '--api' && url === undefined) ||
    rest.length > 0
  ) {
    process.stderr.write('usage: demo [--api http://127.0.0.1:3000]\n');
    return 2;
  }
  const host = ['0.0.0.0', '::', ''].includes(env.HOST) ? '127.0.0.1' : env.HOST;
  const exchange = new Exchange((url ?? `http://${host}:${env.PORT}`).replace(/\/$/, ''));
  const ready = await exchange.call('GET', '/health/ready').catch((error: unknown) => {
    throw new Error(
      `no exchange answers at ${exchange.base} (start one with npm start): ${(error as Error).message}`,
    );
  });
  if (ready.status !== 200) throw new Error(`${exchange.base}/health/ready answered ${ready.status}`);

  const tag = randomBytes(4).toString('hex');
  const adminEmail = `demo-admin-${tag}@demo.example`;
  const adminPassword = randomBytes(18).toString('base64url');
  await createAdmin(adminEmail, adminPassword);
  const login = await exchange.expect(200, 'POST', '/v1/auth/login', undefined, {
    email: adminEmail,
    password: adminPassword,
  });
  const admin = login.accessToken as string;

  const provider = await register(exchange, 'PROVIDER', `Guizhou Mountain DC ${tag}`, tag);
  const buyer = await register(exchange, 'BUYER', `Inference Startup ${tag}`, tag);
  for (const { id } of [provider, buyer])
    await exchange.expect(200, 'POST', `/admin/organisations/${id}/verify`, admin);
  const topUp = await exchange.expect(201, 'POST', '/v1/top-ups', buyer.key, { amount: TOP_UP });
  await exchange.expect(200, 'POST', `/admin/top-ups/${String(topUp.id)}/confirm`, admin, {
    bankReference: `DEMO-${tag}`,
  });

  process.stdout.write(
    [
      `# A verified provider and a verified buyer with ${TOP_UP} CNY of credit (admin ${adminEmail}).`,
      `export API=${exchange.base}`,
      `export PROVIDER_KEY=${provider.key}`,
      `export BUYER_KEY=${buyer.key}`,
      // What a person signs in with: owners' routes (bank account, payouts) take no API key.
      `export PROVIDER_EMAIL=${provider.email} PROVIDER_PASSWORD=${provider.password}`,
      '',
    ].join('\n'),
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`demo: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
