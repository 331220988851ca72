/**
 * Where the accept latency of `bench:e2e`'s latency step goes: the API's own histograms (read
 * from its `/metrics` before and after the step, the difference being the step's) beside what the
 * load generator saw. Means add up, so the shares are of the mean; the p99 of each part is its
 * own p99 (they do not add up: a slow order is not slow in every part), read from the buckets by
 * linear interpolation. The machine is shared: compare shares, not absolute milliseconds.
 */

/** One scrape's samples: `name{labels}` -> value, the labels as exposed. */
export type Scrape = Map<string, number>;

export function parseMetrics(text: string): Scrape {
  const samples: Scrape = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

interface Histogram {
  /** [upper bound, cumulative count] ascending, +Inf last. */
  buckets: [number, number][];
  sum: number;
  count: number;
}

/** The step's part of a histogram (after minus before), over the series whose labels pass `keep`. */
function histogram(
  before: Scrape,
  after: Scrape,
  name: string,
  keep: (labels: string) => boolean,
): Histogram {
  const byLe = new Map<number, number>();
  let sum = 0;
  let count = 0;
  for (const [key, value] of after) {
    if (!key.startsWith(name)) continue;
    const open = key.indexOf('{');
    const metric = open === -1 ? key : key.slice(0, open);
    const labels = open === -1 ? '' : key.slice(open);
    if (!keep(labels)) continue;
    const delta = value - (before.get(key) ?? 0);
    if (metric === `${name}_bucket`) {
      const le = /le="([^"]+)"/.exec(labels)![1]!;
      const bound = le === '+Inf' ? Infinity : Number(le);
      byLe.set(bound, (byLe.get(bound) ?? 0) + delta);
    } else if (metric === `${name}_sum`) sum += delta;
    else if (metric === `${name}_count`) count += delta;
  }
  return { buckets: [...byLe].sort(([a], [b]) => a - b), sum, count };
}

/** The p-th percentile from cumulative buckets, interpolated within its bucket (seconds). */
function quantile(h: Histogram, p: number): number {
  if (h.count === 0) return Number.NaN;
  const rank = (p / 100) * h.count;
  let lower = 0;
  let below = 0;
  for (const [bound, cumulative] of h.buckets) {
    if (cumulative >= rank) {
      if (bound === Infinity) return lower;
      return lower + ((bound - lower) * (rank - below)) / Math.max(1, cumulative - below);
    }
    [lower, below] = [bound, cumulative];
  }
  return lower;
}

const placementRoute = (labels: string): boolean =>
  labels.includes('method="POST"') &&
  (labels.includes('route="/v1/bids"') || labels.includes('route="/v1/offers"')) &&
  labels.includes('status="201"');

const fixed = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const mean = (values: readonly number[]): number =>
  values.length === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / values.length;

export interface BreakdownInput {
  before: Scrape;
  after: Scrape;
  /** The client's accept latencies (due time to the 201), ms. */
  acceptMs: readonly number[];
  /** The load generator's lateness: due time to handing the request to its pool, ms. */
  sendLagMs: readonly number[];
  seconds: number;
}

/** Lines of the breakdown table (markdown), mean and p99 in ms and each part's share of the mean accept. */
export function acceptBreakdown(input: BreakdownInput): string[] {
  const { before, after } = input;
  const ms = (h: Histogram): [number, number, number] => [
    (1000 * h.sum) / Math.max(1, h.count),
    1000 * quantile(h, 50),
    1000 * quantile(h, 99),
  ];
  const server = histogram(before, after, 'http_request_duration_seconds', placementRoute);
  const wait = histogram(before, after, 'order_placement_wait_seconds', () => true);
  const commit = histogram(before, after, 'order_placement_commit_seconds', () => true);
  const batch = histogram(before, after, 'order_placement_batch_size', () => true);
  const accept = [...input.acceptMs].sort((a, b) => a - b);
  const lag = [...input.sendLagMs].sort((a, b) => a - b);
  const clientMean = mean(accept);
  const [serverMean] = ms(server);
  const [waitMean] = ms(wait);
  const [commitMean] = ms(commit);
  const lagMean = mean(lag);
  const rows: [string, number, number, number][] = [
    ['accept, as the client saw it (due to 201)', clientMean, percentile(accept, 50), percentile(accept, 99)],
    ['  load generator late to send (due to sent)', lagMean, percentile(lag, 50), percentile(lag, 99)],
    [
      '  outside the API: sockets, parsing before its hooks, the client reading (the rest)',
      clientMean - lagMean - serverMean,
      Number.NaN,
      Number.NaN,
    ],
    ['  in the API (onRequest to onResponse)', ...ms(server)],
    ['    waiting for a group-commit batch to begin', ...ms(wait)],
    ['    its batch, start to COMMIT', ...ms(commit)],
    [
      '    the rest: auth, validation, Redis, the answer',
      serverMean - waitMean - commitMean,
      Number.NaN,
      Number.NaN,
    ],
  ];
  const lines = [
    '| part of the accept latency | mean, ms | share of the mean | p50, ms | p99, ms |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(
      ([name, m, p50, p99]) =>
        `| ${name} | ${fixed(m)} | ${fixed((100 * m) / clientMean, 0)} % | ${fixed(p50)} | ${fixed(p99)} |`,
    ),
  ];
  const gauge = (name: string): number => 1000 * (after.get(name) ?? Number.NaN);
  // prom-client resets its event-loop delay histogram at every scrape: the "after" values are the step's.
  lines.push(
    `batches: ${fixed(batch.count, 0)}, ${fixed(batch.sum / Math.max(1, batch.count))} orders each on average, ` +
      `p99 ${fixed(quantile(batch, 99))}`,
  );
  lines.push(
    `API event-loop delay during the step (perf_hooks.monitorEventLoopDelay, sampled every 10 ms): ` +
      `mean ${fixed(gauge('nodejs_eventloop_lag_mean_seconds'))} p50 ${fixed(gauge('nodejs_eventloop_lag_p50_seconds'))} ` +
      `p99 ${fixed(gauge('nodejs_eventloop_lag_p99_seconds'))} max ${fixed(gauge('nodejs_eventloop_lag_max_seconds'))} ms`,
  );
  const gc = histogram(before, after, 'nodejs_gc_duration_seconds', () => true);
  const gcByKind = ['minor', 'major', 'incremental', 'weakcb'].map((kind) => {
    const h = histogram(before, after, 'nodejs_gc_duration_seconds', (l) => l.includes(`kind="${kind}"`));
    return `${kind} ${fixed(h.count, 0)} (${fixed(1000 * h.sum)} ms)`;
  });
  lines.push(
    `API GC pauses during the step (PerformanceObserver 'gc'): ${fixed(gc.count, 0)} pauses, ` +
      `${fixed(1000 * gc.sum)} ms in all (${fixed((100 * gc.sum) / input.seconds, 2)} % of the step's wall time), ` +
      `${gcByKind.join(', ')}`,
  );
  return lines;
}
