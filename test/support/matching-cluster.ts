import { randomBytes, randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { freePort, spawnBuilt, spawnScript, waitForHttp, type RunningProcess } from './processes';
import { fundBuyer } from './funding';
import { databaseUrl, TEMPLATE_DB, TEST_DB_PREFIX, testEnv, testServerUrl } from './test-env';
import { waitFor } from './wait-for';

export interface ClusterTenant {
  organisationId: string;
  auth: { authorization: string };
}

export interface HttpAnswer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * One API process and several worker processes of the built code on a database of their own
 * (cloned from the migrated template) and a Redis prefix of their own, as a deployment runs
 * them. For the crash, zombie and wakeup suites.
 */
export class MatchingCluster {
  readonly workers: Array<RunningProcess | undefined> = [];
  private api: RunningProcess | undefined;
  private port = 0;
  readonly db: Client;
  readonly redis: Redis;

  private constructor(
    readonly database: string,
    readonly env: Record<string, string>,
  ) {
    this.db = new Client({ connectionString: databaseUrl(database) });
    this.redis = new Redis(env.REDIS_URL ?? '');
  }

  static async start(workers: number, overrides: Record<string, string> = {}): Promise<MatchingCluster> {
    const database = `${TEST_DB_PREFIX}_cluster_${randomBytes(4).toString('hex')}`;
    const admin = new Client({ connectionString: `${testServerUrl()}/postgres` });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${database} TEMPLATE ${TEMPLATE_DB}`);
    } finally {
      await admin.end();
    }
    const env = testEnv({
      DATABASE_URL: databaseUrl(database),
      RATE_LIMIT_PER_MINUTE: '1000000',
      RATE_LIMIT_PUBLIC_PER_MINUTE: '1000000',
      MATCHING_LOCK_TTL_MS: '1000',
      ...overrides,
    });
    const cluster = new MatchingCluster(database, env);
    await cluster.db.connect();
    cluster.port = await freePort();
    cluster.api = spawnBuilt('main.api.js', { ...env, PORT: String(cluster.port) });
    for (let i = 0; i < workers; i += 1) cluster.workers.push(cluster.spawnWorker());
    await waitForHttp(cluster.url('/health/ready'));
    // Workers have no HTTP: their sweep schedule in Redis says they are up.
    await waitFor(
      'the workers to schedule their sweep',
      async () =>
        (await cluster.redis.exists(cluster.key('bull', 'matching', 'repeat:matching.sweep')))
          ? true
          : undefined,
      20_000,
      100,
    );
    return cluster;
  }

  key(...parts: string[]): string {
    return [this.env.REDIS_PREFIX, ...parts].join(':');
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  // Workers whose runs a test can hold (test/support/matching-hold.cjs); the hold is off until set.
  private spawnWorker(): RunningProcess {
    return spawnScript('test/support/matching-hold-worker.cjs', this.env);
  }

  /** SIGKILL: no drain, no release; stall handling and lock expiry must recover its work. */
  async killWorker(i: number): Promise<void> {
    const worker = this.workers[i];
    this.workers[i] = undefined;
    if (worker === undefined) return;
    worker.child.kill('SIGKILL');
    await worker.exited(5_000);
  }

  restartWorker(i: number): void {
    this.workers[i] = this.spawnWorker();
  }

  /**
   * Waits until every worker slot's process consumes the matching queue again (BullMQ names each
   * consumer's Redis connection, so CLIENT LIST counts them). A worker boots in 1-8 s on a loaded
   * 2-core machine; a suite that kills workers one at a time waits here between kills.
   */
  async workersConsuming(timeoutMs: number): Promise<void> {
    const queue = new Queue('matching', { connection: this.redis, prefix: this.key('bull') });
    try {
      const expected = this.workers.filter((w) => w !== undefined).length;
      await waitFor(
        `${expected} workers to consume the matching queue`,
        async () => ((await queue.getWorkersCount()) >= expected ? true : undefined),
        timeoutMs,
        100,
      );
    } finally {
      await queue.close();
    }
  }

  workerByPid(pid: number): RunningProcess | undefined {
    return this.workers.find((worker) => worker?.child.pid === pid);
  }

  async request(
    method: 'GET' | 'POST',
    path: string,
    auth?: ClusterTenant,
    body?: unknown,
  ): Promise<HttpAnswer> {
    const res = await fetch(this.url(path), {
      method,
      headers: {
        ...(auth?.auth ?? {}),
        ...(method === 'POST' ? { 'idempotency-key': randomUUID() } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** A VERIFIED organisation (verified in the database, as the suites need no admin). */
  async tenant(role: 'PROVIDER' | 'BUYER'): Promise<ClusterTenant> {
    const email = `${role.toLowerCase()}-${randomUUID()}@cluster.test`;
    const res = await this.request('POST', '/v1/organisations', undefined, {
      name: `${role} ${email}`,
      role,
      owner: { email, password: 'cluster test password' },
    });
    if (res.status !== 201) throw new Error(`registration failed: ${res.status} ${JSON.stringify(res.body)}`);
    const body = res.body as { organisation: { id: string }; apiKey: { key: string } };
    await this.db.query(`UPDATE organisations SET status = 'VERIFIED', verified_at = now() WHERE id = $1`, [
      body.organisation.id,
    ]);
    if (role === 'BUYER')
      await fundBuyer((sql, ...params) => this.db.query(sql, params), body.organisation.id);
    return { organisationId: body.organisation.id, auth: { authorization: `Bearer ${body.apiKey.key}` } };
  }

  async marketId(slug: string): Promise<string> {
    const { rows } = await this.db.query<{ id: string }>('SELECT id FROM markets WHERE slug = $1', [slug]);
    if (rows[0] === undefined) throw new Error(`no market ${slug}`);
    return rows[0].id;
  }

  /**
   * Quiet: every event published and delivered, no matching job waiting, running or due for a
   * retry within 10 s, and no lease created for `settleMs`. Expiry sweeps days ahead do not count.
   */
  async quiesce(timeoutMs: number, settleMs = 1_500): Promise<void> {
    let leases = -1;
    let stableSince = Date.now();
    await waitFor(
      'the exchange to quiesce',
      async () => {
        const { rows } = await this.db.query<{ leases: string; unpublished: string }>(
          `SELECT (SELECT count(*) FROM leases) AS leases,
                  (SELECT count(*) FROM outbox_events WHERE published_at IS NULL) AS unpublished`,
        );
        const busy =
          (await this.queueBusy('events')) +
          (await this.queueBusy('matching')) +
          Number(rows[0]?.unpublished ?? 0);
        const count = Number(rows[0]?.leases ?? 0);
        if (busy > 0 || count !== leases) {
          leases = count;
          stableSince = Date.now();
          return undefined;
        }
        return Date.now() - stableSince >= settleMs ? true : undefined;
      },
      timeoutMs,
      200,
    );
  }

  private async queueBusy(queue: string): Promise<number> {
    const base = this.key('bull', queue);
    const [wait, active, prioritized] = await Promise.all([
      this.redis.llen(`${base}:wait`),
      this.redis.llen(`${base}:active`),
      this.redis.zcard(`${base}:prioritized`),
    ]);
    // A failed job waiting out its backoff is work still to come, and so is a CALL market's
    // clearing (a delayed run); the sweep's next scheduled run and expiry sweeps days ahead
    // (delayed too, but never attempted) are not.
    const dueSoon = (Date.now() + 10_000) * 0x1000;
    const delayed = await this.redis.zrangebyscore(`${base}:delayed`, '-inf', String(dueSoon));
    let pending = 0;
    for (const id of delayed) {
      const [attempts, name] = await this.redis.hmget(`${base}:${id}`, 'atm', 'name');
      if (Number(attempts ?? 0) > 0 || name === 'matching.run') pending += 1;
    }
    return wait + active + prioritized + pending;
  }

  async stop(): Promise<void> {
    const processes = [this.api, ...this.workers].filter((p): p is RunningProcess => p !== undefined);
    for (const proc of processes) {
      proc.child.kill('SIGCONT');
      proc.child.kill('SIGTERM');
    }
    await Promise.all(processes.map((proc) => proc.exited(15_000).catch(() => undefined)));
    await this.db.end();
    this.redis.disconnect();
    const admin = new Client({ connectionString: `${testServerUrl()}/postgres` });
    await admin.connect();
    try {
      await admin.query(`DROP DATABASE IF EXISTS ${this.database} WITH (FORCE)`);
    } finally {
      await admin.end();
    }
  }
}
