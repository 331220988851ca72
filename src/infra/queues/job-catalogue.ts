import type { JobsOptions } from 'bullmq';
import { IsInt, IsOptional, IsString, IsUUID, MaxLength, Min } from 'class-validator';
import type { EnvironmentVariables } from '@/config/app-config';
import { EventEnvelope } from '@/infra/events/event-envelope.dto';

export const QUEUE = {
  events: 'events',
  maintenance: 'maintenance',
  matching: 'matching',
  leases: 'leases',
  settlement: 'settlement',
  webhooks: 'webhooks',
  stats: 'stats',
} as const;
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

export class ReconcilePayload {
  /** Who asked: the scheduler or an admin; for logs only. */
  @IsOptional()
  @IsString()
  @MaxLength(64)
  trigger?: string;
}

export class SettleLeasePayload {
  @IsUUID()
  leaseId!: string;
}

export class MatchRunPayload {
  @IsUUID()
  marketId!: string;

  /** What asked for the run (an event type, `sweep`, `window-open`); for logs and metrics only. */
  @IsString()
  @MaxLength(64)
  reason!: string;
}

export class WebhookDeliveryPayload {
  @IsUUID()
  deliveryId!: string;

  /** The delivery's run (bumped by a replay); a job of an earlier run does nothing. */
  @IsInt()
  @Min(0)
  run!: number;
}

/**
 * The webhooks queue's backoff: exponential from WEBHOOK_RETRY_BASE_MS, computed by the worker
 * (registerProcessor settings) because the base is configuration, not a constant.
 */
export const WEBHOOK_BACKOFF = 'webhook';

/** Every job: its payload type. A job here without a definition below does not compile. */
export interface JobPayloads {
  /** One outbox event, job id = event id; every consumer records it in the inbox. */
  'events.deliver': EventEnvelope;
  /** Re-enqueues work Redis lost: unpublished and stranded outbox events. */
  'maintenance.reconcile': ReconcilePayload;
  /** Deletes idempotency records past their retention (24 h). */
  'maintenance.prune': ReconcilePayload;
  /**
   * Runs matching for one market. Safe to repeat and to run on any number of workers: a
   * Redis lock admits one run per market, and a run asked for meanwhile is run next.
   */
  'matching.run': MatchRunPayload;
  /** Expires orders due by now and asks for a run of every market with a live book; scheduled and delayed. */
  'matching.sweep': ReconcilePayload;
  /** Terminates leases past their provisioning deadline and ends those due; scheduled and delayed. */
  'leases.sweep': ReconcilePayload;
  /** Finds leases with a billing period due and enqueues their settle jobs; scheduled. */
  'settlement.sweep': ReconcilePayload;
  /**
   * Settles one lease's due periods. Job id = lease + next period index, so twins collapse; the
   * lease row lock and unique keys make a repeat a no-op. Exhausted: the lease NEEDS_ATTENTION.
   */
  'settlement.settle-lease': SettleLeasePayload;
  /**
   * One attempt at one webhook delivery, job id `<delivery id>-<run>`; BullMQ retries it with
   * WEBHOOK_BACKOFF until it succeeds or runs out of attempts (then the delivery is FAILED).
   */
  'webhooks.deliver': WebhookDeliveryPayload;
  /**
   * Turns published outbox events after the dispatch cursor into deliveries, in batches; the
   * schedule's backstop of the in-process wake-up on each relay announcement.
   */
  'webhooks.dispatch': ReconcilePayload;
  /** Re-enqueues PENDING deliveries whose job Redis lost; FAILs those whose job gave up. */
  'webhooks.sweep': ReconcilePayload;
  /** Deletes finished deliveries past WEBHOOK_DELIVERY_RETENTION_DAYS; hourly. */
  'webhooks.prune': ReconcilePayload;
  /** Recomputes the statistics snapshots of the last STATS_REFRESH_HOURS hours; scheduled, idempotent. */
  'stats.refresh': ReconcilePayload;
  /** Stores every provider's current reliability score (decay moves it with no event); scheduled, idempotent. */
  'stats.reliability': ReconcilePayload;
}
export type JobName = keyof JobPayloads;

interface JobDefinition {
  queue: QueueName;
  /** class-validator class the payload is checked against before a handler sees it. */
  payload: new () => object;
  options: JobsOptions;
  /** Repeats every this many ms: one schedule in Redis, upserted by every worker (JobSchedules). */
  every?: (env: Readonly<EnvironmentVariables>) => number;
}

const HOUR_MS = 3_600_000;

// Completed jobs are kept an hour for inspection; dedupe after that is the inbox's job.
const retention = {
  removeOnComplete: { age: 3_600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3_600 },
} satisfies JobsOptions;

export const JOBS = {
  'events.deliver': {
    queue: QUEUE.events,
    payload: EventEnvelope,
    options: { attempts: 10, backoff: { type: 'exponential', delay: 1_000 }, ...retention },
  },
  'maintenance.reconcile': {
    queue: QUEUE.maintenance,
    payload: ReconcilePayload,
    every: (env) => env.RECONCILE_INTERVAL_MS,
    options: { attempts: 3, backoff: { type: 'fixed', delay: 5_000 }, ...retention },
  },
  'maintenance.prune': {
    queue: QUEUE.maintenance,
    payload: ReconcilePayload,
    every: () => HOUR_MS,
    options: { attempts: 3, backoff: { type: 'fixed', delay: 60_000 }, ...retention },
  },
  'matching.run': {
    queue: QUEUE.matching,
    payload: MatchRunPayload,
    options: {
      attempts: 8,
      backoff: { type: 'exponential', delay: 200 },
      removeOnComplete: { age: 600, count: 1_000 },
      removeOnFail: retention.removeOnFail,
    },
  },
  'matching.sweep': {
    queue: QUEUE.matching,
    payload: ReconcilePayload,
    every: (env) => env.MATCHING_SWEEP_INTERVAL_MS,
    options: { attempts: 3, backoff: { type: 'fixed', delay: 1_000 }, ...retention },
  },
  'leases.sweep': {
    queue: QUEUE.leases,
    payload: ReconcilePayload,
    every: (env) => env.LEASE_SWEEP_INTERVAL_MS,
    options: { attempts: 5, backoff: { type: 'exponential', delay: 1_000 }, ...retention },
  },
  'settlement.sweep': {
    queue: QUEUE.settlement,
    payload: ReconcilePayload,
    every: (env) => env.SETTLEMENT_SWEEP_INTERVAL_MS,
    options: { attempts: 3, backoff: { type: 'fixed', delay: 5_000 }, ...retention },
  },
  'settlement.settle-lease': {
    queue: QUEUE.settlement,
    payload: SettleLeasePayload,
    options: { attempts: 6, backoff: { type: 'exponential', delay: 2_000 }, ...retention },
  },
  'webhooks.deliver': {
    queue: QUEUE.webhooks,
    payload: WebhookDeliveryPayload,
    // WEBHOOK_ATTEMPTS (domain/webhook-rules.ts) must match; a spec checks it.
    options: { attempts: 12, backoff: { type: WEBHOOK_BACKOFF }, ...retention },
  },
  'webhooks.dispatch': {
    queue: QUEUE.webhooks,
    payload: ReconcilePayload,
    every: (env) => env.WEBHOOK_DISPATCH_INTERVAL_MS,
    // Every few seconds: keeping completed runs would only fill Redis.
    options: { attempts: 1, removeOnComplete: true, removeOnFail: { count: 100 } },
  },
  'webhooks.sweep': {
    queue: QUEUE.webhooks,
    payload: ReconcilePayload,
    every: (env) => env.RECONCILE_INTERVAL_MS,
    options: { attempts: 1, removeOnComplete: true, removeOnFail: { count: 100 } },
  },
  'webhooks.prune': {
    queue: QUEUE.webhooks,
    payload: ReconcilePayload,
    every: () => HOUR_MS,
    options: { attempts: 3, backoff: { type: 'fixed', delay: 60_000 }, ...retention },
  },
  'stats.refresh': {
    queue: QUEUE.stats,
    payload: ReconcilePayload,
    every: (env) => env.STATS_REFRESH_INTERVAL_MS,
    // Each run replaces its buckets; a failed one is simply redone by the next schedule.
    options: {
      attempts: 2,
      backoff: { type: 'fixed', delay: 30_000 },
      removeOnComplete: true,
      removeOnFail: { count: 100 },
    },
  },
  'stats.reliability': {
    queue: QUEUE.stats,
    payload: ReconcilePayload,
    // Decay moves a score by under 1% a day (half-life 90 days): every 6 h is close enough.
    every: () => 6 * HOUR_MS,
    options: {
      attempts: 2,
      backoff: { type: 'fixed', delay: 60_000 },
      removeOnComplete: true,
      removeOnFail: { count: 100 },
    },
  },
} as const satisfies { [N in JobName]: JobDefinition };

/** Job names that run on queue Q. */
export type JobsOf<Q extends QueueName> = {
  [N in JobName]: (typeof JOBS)[N]['queue'] extends Q ? N : never;
}[JobName];
