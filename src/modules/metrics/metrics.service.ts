import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { OutboxService } from '../events/outbox.service';

/** This process's Prometheus registry (its own, so several apps in one test process don't clash). */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  private readonly httpDuration: Histogram<'method' | 'route' | 'status'>;

  constructor(outbox: OutboxService) {
    collectDefaultMetrics({ register: this.registry });
    this.httpDuration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by route template and status',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [this.registry],
    });
    // prom-client collects gauges in parallel, so each reads the backlog itself; with
    // PostgreSQL down both keep their last values and the process metrics still come out.
    new Gauge({
      name: 'outbox_unpublished_events',
      help: 'Committed events not yet published to the queue',
      registers: [this.registry],
      async collect() {
        const backlog = await outbox.backlog().catch(() => undefined);
        if (backlog) this.set(backlog.unpublished);
      },
    });
    new Gauge({
      name: 'outbox_oldest_unpublished_age_seconds',
      help: 'Age of the oldest unpublished event (0 when none)',
      registers: [this.registry],
      async collect() {
        const backlog = await outbox.backlog().catch(() => undefined);
        if (backlog) this.set(backlog.oldestAgeSeconds ?? 0);
      },
    });
  }

  /** `route` is the route template (never the raw URL) to keep label cardinality bounded. */
  observeHttp(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds);
  }

  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
