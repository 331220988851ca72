import { Client } from 'pg';
import { freePort, spawnForTest, track, waitForHttp } from '../support/processes';
import { testEnv } from '../support/test-env';
import { scaled, waitFor } from '../support/wait-for';

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Ctrl-C in a terminal signals the whole foreground process group: npm and the app under
 * `npm start`; npm then forwards a SIGINT of its own. The app must drain, not die.
 */
describe('Ctrl-C under npm start', () => {
  it(
    'drains an in-flight job through repeated SIGINTs to the process group, then exits 0',
    async () => {
      const port = await freePort();
      const env = testEnv({
        PORT: String(port),
        LOG_LEVEL: 'info',
        SHUTDOWN_GRACE_MS: '8000',
        LEASE_SWEEP_INTERVAL_MS: '200',
        // Never ask the registry anything from a test.
        npm_config_update_notifier: 'false',
      });
      const db = new Client({ connectionString: env.DATABASE_URL });
      await db.connect();
      const npm = track(spawnForTest('npm', ['start'], env));
      const pgid = npm.child.pid!;
      const exited = npm.exited(scaled(120_000));
      const stdout = (text: string) => () => {
        if (npm.stdout().includes(text)) return true;
        if (npm.child.exitCode !== null || npm.child.signalCode !== null) {
          throw new Error(
            `npm start exited (${npm.child.exitCode ?? npm.child.signalCode}) before logging "${text}"`,
          );
        }
        return undefined;
      };
      try {
        await waitForHttp(`http://127.0.0.1:${port}/health/ready`);
        // The lease sweep blocks on this lock: a job in flight when Ctrl-C comes.
        await db.query('BEGIN');
        await db.query('LOCK TABLE leases IN ACCESS EXCLUSIVE MODE');
        await waitFor('a lease sweep to wait on the lock', async () => {
          const { rows } = await db.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'leases'::regclass`,
          );
          return rows[0]!.n > 0 ? true : undefined;
        });

        process.kill(-pgid, 'SIGINT');
        await waitFor('the drain to start', stdout('SIGINT received: draining'));
        // Another Ctrl-C while the job is still in flight (npm forwards each one again).
        process.kill(-pgid, 'SIGINT');
        await waitFor('the repeated SIGINT to be logged', stdout('SIGINT received again'));
        expect(groupAlive(pgid)).toBe(true);
      } finally {
        await db.query('COMMIT').catch(() => undefined);
        await db.end();
      }

      const { code, signal } = await exited;
      expect({ code, signal }).toEqual({ code: 0, signal: null });
      // The job finished inside the grace: the workers closed with nothing cut off.
      expect(npm.stdout()).toContain('workers drained');
      expect(npm.stdout()).not.toContain('jobs still active');
      expect(npm.stdout()).toContain('"msg":"stopped"');
      expect(groupAlive(pgid)).toBe(false);
    },
    scaled(180_000),
  );
});
