import type { Client } from 'pg';

/**
 * Lock waits in one database while a step runs: every `intervalMs`, each backend waiting on a
 * lock, with the statement it waits in and the latest statement of each backend it waits for
 * (`pg_blocking_pids`). Says which of the exchange's transactions serialise on which, where CPU
 * per order and the accept breakdown cannot: a matching commit's postings behind a placement
 * batch's account locks, or two batches behind each other's placement locks (docs/BENCHMARKS.md
 * "What the top waits on"). A holder idle in its transaction took the lock in an earlier
 * statement than the one named: the pair names the transactions, not the row.
 */
export class LockWaits {
  private timer: NodeJS.Timeout | undefined;
  /** The sample in flight, if any. */
  private sampling: Promise<void> | undefined;
  /** Samples taken. */
  samples = 0;
  /** Waiting backends summed over the samples. */
  private waiters = 0;
  /** `waiter <= holder [holder's state]` -> times seen. */
  private readonly pairs = new Map<string, number>();

  constructor(
    private readonly db: Client,
    private readonly database: string,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      // One at a time: a slow sample delays the next instead of piling them up on the connection.
      this.sampling ??= this.sample()
        .catch(() => undefined)
        .finally(() => (this.sampling = undefined));
    }, this.intervalMs);
  }

  /** Takes one sample now (`start` takes them on a timer). */
  async sample(): Promise<void> {
    const { rows } = await this.db.query<{ waiter: number; statement: string; holder: string }>(
      `SELECT w.pid AS waiter, left(regexp_replace(w.query, '\\s+', ' ', 'g'), 60) AS statement,
              coalesce(left(regexp_replace(b.query, '\\s+', ' ', 'g'), 60) || ' [' || b.state || ']', '(ended)') AS holder
         FROM pg_stat_activity w
         CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS blocking(pid)
         LEFT JOIN pg_stat_activity b ON b.pid = blocking.pid
        WHERE w.datname = $1 AND w.wait_event_type = 'Lock' AND w.pid <> pg_backend_pid()`,
      [this.database],
    );
    this.samples += 1;
    this.waiters += new Set(rows.map((row) => row.waiter)).size;
    for (const row of rows) {
      const pair = `${row.statement.trim()} <= ${row.holder.trim()}`;
      this.pairs.set(pair, (this.pairs.get(pair) ?? 0) + 1);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sampling;
  }

  /** Backends waiting on a lock at a sample, on average. */
  meanWaiting(): number {
    return this.samples === 0 ? 0 : this.waiters / this.samples;
  }

  /** The `top` most seen pairs, most first, with their share of all pairs seen. */
  top(top: number): Array<{ pair: string; share: number }> {
    const total = [...this.pairs.values()].reduce((sum, n) => sum + n, 0);
    return [...this.pairs]
      .sort(([, a], [, b]) => b - a)
      .slice(0, top)
      .map(([pair, n]) => ({ pair, share: n / total }));
  }

  /** What `bench:e2e` prints under a step. */
  report(top = 5): string[] {
    const lines = [
      `lock waits during the step (pg_stat_activity every ${this.intervalMs} ms, ${this.samples} samples): ` +
        `${this.meanWaiting().toFixed(2)} backends waiting on a lock on average` +
        (this.pairs.size === 0
          ? ''
          : '; statement waiting <= latest statement of its holder [holder state]:'),
    ];
    for (const { pair, share } of this.top(top))
      lines.push(`  ${(100 * share).toFixed(0).padStart(3)} % ${pair}`);
    return lines;
  }
}
