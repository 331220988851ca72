/**
 * Platform admin CLI: `node dist/cli/admin.js create-admin <email>`.
 * The password is read from the first line of standard input when it is piped; on a terminal
 * a strong one is generated and printed once. Platform admins are people, so the audit log
 * names a person for every admin action.
 */
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import { loadEnvironment } from '@/config/app-config';
import { hashPassword, validatePasswordPolicy } from '@/modules/organisations/domain/password-hasher';
import { normaliseEmail } from '@/modules/organisations/organisations.service';

const USAGE =
  'usage: admin create-admin <email>   (password on stdin, or generated when stdin is a terminal)';
const out = (line: string): void => void process.stdout.write(`${line}\n`);
const fail = (line: string): void => void process.stderr.write(`admin: ${line}\n`);

async function readPassword(): Promise<{ password: string; generated: boolean }> {
  if (process.stdin.isTTY) return { password: randomBytes(18).toString('base64url'), generated: true };
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    lines.close();
    return { password: line, generated: false };
  }
  throw new Error('no password on standard input');
}

async function createAdmin(emailInput: string): Promise<void> {
  const email = normaliseEmail(emailInput);
  if (!/^[^@\s]+@[^@\s]+$/.test(email) || email.length > 320)
    throw new Error(`not an email address: ${emailInput}`);
  const { password, generated } = await readPassword();
  const passwordHash = await hashPassword(validatePasswordPolicy(password));
  const env = loadEnvironment(undefined, { requireSecrets: false });
  const client = new Client({ connectionString: env.DATABASE_URL, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    // uuid v7 would need the Prisma client; gen_random_uuid() is a valid primary key too.
    const result = await client.query(
      `INSERT INTO users (id, organisation_id, email, password_hash, role, is_platform_admin, created_at)
       VALUES (gen_random_uuid(), NULL, $1, $2, 'MEMBER', true, now())
       ON CONFLICT (email) DO NOTHING RETURNING id`,
      [email, passwordHash],
    );
    if (result.rowCount !== 1) throw new Error(`a user with email ${email} already exists`);
    out(`created platform admin ${email} (${String((result.rows[0] as { id: string }).id)})`);
    if (generated) out(`password (shown once): ${password}`);
  } finally {
    await client.end();
  }
}

async function main(args: string[]): Promise<number> {
  const [command, email, ...rest] = args;
  if (command !== 'create-admin' || email === undefined || rest.length > 0) {
    fail(USAGE);
    return 2;
  }
  await createAdmin(email);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const e = error as { message?: string };
    fail(e.message ?? String(error));
    process.exit(1);
  },
);
