import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { spawnForTest } from './processes';
import { signIn } from './tenants';
import { testEnv } from './test-env';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built admin CLI with a password on stdin, as docs/ADMIN.md documents: platform admins
 * exist only through it (needs `npm run build`).
 */
export function createAdminWithCli(email: string, password: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawnForTest(
      process.execPath,
      [join(__dirname, '..', '..', 'dist', 'cli', 'admin.js'), 'create-admin', email],
      testEnv(),
      { stdin: 'pipe' },
    );
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin?.end(`${password}\n`);
  });
}

export interface TestAdmin {
  userId: string;
  /** Bearer headers, signed in afresh: a suite moving the clock outlives an access token. */
  signIn(): Promise<{ authorization: string }>;
  /** Deletes the admin and the audit entries it wrote. */
  remove(): Promise<void>;
}

/** A platform admin of a suite's own, made through the built CLI (`label` names its address). */
export async function createTestAdmin(app: NestFastifyApplication, label: string): Promise<TestAdmin> {
  const login = { email: `admin-${randomUUID()}@${label}.test`, password: `${label} admin passphrase` };
  const created = await createAdminWithCli(login.email, login.password);
  if (created.code !== 0) throw new Error(`admin CLI failed: ${created.stderr}`);
  const prisma = app.get(PrismaService);
  const userId = (await prisma.user.findUniqueOrThrow({ where: { email: login.email } })).id;
  return {
    userId,
    signIn: async () => (await signIn(app, login)).auth,
    remove: async () => {
      await prisma.auditLogEntry.deleteMany({ where: { actorUserId: userId } });
      await prisma.user.deleteMany({ where: { email: login.email } });
    },
  };
}
