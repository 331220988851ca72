import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { JobOutcome } from '@/infra/queues/job-outcomes';
import { JobOutcomes } from '@/infra/queues/job-outcomes.service';
import { QueueBacklog } from '@/infra/queues/queue-backlog.service';
import { within } from '@/shared/within';
import { OutboxService } from '@/modules/events/outbox.service';
import { MetricsCountersService } from '@/infra/metrics/metrics-counters.service';
import type { MarketMatchCounters, TransferCounters } from '@/infra/metrics/metrics-counters.repository';
import { PlacementTimings } from '@/infra/metrics/placement-timings';

const READ_TIMEOUT_MS = 2_000;

/**
 * One read shared by every metric collected in one scrape: prom-client runs all collect()
 * functions together, so each source is read once per scrape, not once per metric. A failed
 * or slow read (a dependency down: BullMQ waits for Redis indefinitely) yields undefined after
 * READ_TIMEOUT_MS; the metrics fed by it keep their last values and the rest still come out.
 */
function sharedRead<T>(load: () => Promise<T>): () => Promise<T | undefined> {
  let pending: Promise<T | undefined> | undefined;
  return () => {
    pending ??= within(load(), READ_TIMEOUT_MS)
      .catch(() => undefined)
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

/** One labelled value of a counter set from totals. */
interface Point<L extends string> {
  labels: Record<L, string>;
  value: number;
}

/**
 * A counter whose values are totals kept elsewhere (Redis, PostgreSQL), set at each scrape
 * (prom-client counters only go up, hence reset then inc); unchanged when the read failed.
 */
function totalsCounter(registry: Registry) {
  return <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: () => Promise<ReadonlyArray<Point<L>> | undefined>,
  ): void => {
    new Counter<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        const points = await read();
        if (points === undefined) return;
        this.reset();
        for (const point of points) this.inc(point.labels, point.value);
      },
    });
  };
}

/**
 * This process's Prometheus registry (its own, so several apps in one test process don't clash).
 * HTTP latency is this process's own; every other figure is cluster-wide, read at scrape time
 * from Redis (queues, job outcomes) and PostgreSQL (outbox, counters kept by triggers), so it
 * does not matter which process did the work or which API process is scraped.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly httpDuration: Histogram<'method' | 'route' | 'status'>;

  constructor(
    outbox: OutboxService,
    queues: QueueBacklog,
    outcomes: JobOutcomes,
    counters: MetricsCountersService,
    placements: PlacementTimings,
  ) {
    const registers = [this.registry];
    const totals = totalsCounter(this.registry);
    collectDefaultMetrics({ register: this.registry });
    for (const metric of placements.metrics) this.registry.registerMetric(metric);
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by route template and status',
      labelNames: ['method', 'route', 'status'],
      // Fine around the order path's tens of milliseconds, where the accept target sits.
      buckets: [
        0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5,
      ],
      registers,
    });

    const readOutbox = sharedRead(() => outbox.backlog());
    new Gauge({
      name: 'outbox_unpublished_events',
      help: 'Committed events not yet published to the queue',
      registers,
      async collect() {
        const backlog = await readOutbox();
        if (backlog) this.set(backlog.unpublished);
      },
    });
    new Gauge({
      name: 'outbox_oldest_unpublished_age_seconds',
      help: 'Age of the oldest unpublished event (0 when none)',
      registers,
      async collect() {
        const backlog = await readOutbox();
        if (backlog) this.set(backlog.oldestAgeSeconds ?? 0);
      },
    });

    const readQueues = sharedRead(() => queues.read());
    new Gauge({
      name: 'queue_jobs',
      help: 'Jobs in each BullMQ queue by state (completed and failed are bounded by job retention)',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        const rows = await readQueues();
        for (const row of rows ?? []) {
          for (const [state, count] of Object.entries(row.jobs)) this.set({ queue: row.queue, state }, count);
        }
      },
    });
    new Gauge({
      name: 'queue_oldest_waiting_age_seconds',
      help: 'How long the oldest waiting job of each queue has been runnable (0 when none waits)',
      labelNames: ['queue'],
      registers,
      async collect() {
        const rows = await readQueues();
        for (const row of rows ?? []) this.set({ queue: row.queue }, row.oldestWaitingAgeSeconds);
      },
    });

    const readOutcomes = sharedRead(() => outcomes.read());
    const outcomeRows = (outcome: JobOutcome) => async () =>
      (await readOutcomes())
        ?.filter((row) => row.outcome === outcome)
        .map((row) => ({ labels: { queue: row.queue, job: row.job }, value: row.count }));
    totals(
      'jobs_completed_total',
      'Jobs that completed, counted by the workers',
      ['queue', 'job'],
      outcomeRows('completed'),
    );
    totals(
      'jobs_failed_total',
      'Jobs BullMQ gave up on (attempts exhausted or unrecoverable)',
      ['queue', 'job'],
      outcomeRows('failed'),
    );
    totals(
      'jobs_retried_total',
      'Failed job attempts BullMQ will retry',
      ['queue', 'job'],
      outcomeRows('retried'),
    );

    const readMatches = sharedRead(() => counters.marketMatches());
    const perMarket = (value: (row: MarketMatchCounters) => bigint) => async () =>
      (await readMatches())?.map((row) => ({ labels: { market: row.market }, value: Number(value(row)) }));
    totals(
      'matching_leases_created_total',
      'Leases created by matching (one per fill of a bid by an offer), by market',
      ['market'],
      perMarket((row) => row.leasesCreated),
    );
    totals(
      'matching_filled_gpu_hours_total',
      'GPU-hours filled at match (GPUs x duration hours of each lease created), by market',
      ['market'],
      perMarket((row) => row.filledGpuHours),
    );
    totals(
      'matching_commits_total',
      'Matching runs that committed fills, by market',
      ['market'],
      perMarket((row) => row.commits),
    );
    totals(
      'matching_stale_commits_total',
      'Matching commits refused by the epoch fence (a stalled or zombie run), by market',
      ['market'],
      perMarket((row) => row.staleCommits),
    );

    const readTransfers = sharedRead(() => counters.transfers());
    const perKind = (value: (row: TransferCounters) => bigint) => async () =>
      (await readTransfers())?.map((row) => ({
        labels: { kind: row.kind, currency: row.currency },
        value: Number(value(row)),
      }));
    totals(
      'ledger_transfers_total',
      'Ledger transfers posted, by kind and currency',
      ['kind', 'currency'],
      perKind((row) => row.transfers),
    );
    totals(
      'ledger_transfer_amount_minor_total',
      'Money moved by ledger transfers (the sum of their credits), minor units, by kind and currency',
      ['kind', 'currency'],
      perKind((row) => row.amountMinor),
    );
  }

  /** `route` is the route template (never the raw URL) to keep label cardinality bounded. */
  observeHttp(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds);
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
