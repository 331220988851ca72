import { join } from 'node:path';
import { spawnForTest } from './processes';
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
