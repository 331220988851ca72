import { Processor, type WorkerHost } from '@nestjs/bullmq';
import type { AdvancedOptions } from 'bullmq';
import type { AppConfig } from '@/infra/config/app-config';
import type { QueueName } from './job-catalogue';

/**
 * Applies `@Processor` when the worker module is built, not at import time, so that lock and
 * stall timings come from the validated configuration (short in tests) rather than from
 * `process.env` read inside a decorator.
 */
export function registerProcessor<T extends new (...args: never[]) => WorkerHost>(
  processor: T,
  queue: QueueName,
  config: AppConfig,
  concurrency: number,
  settings?: AdvancedOptions,
): T {
  Processor(
    { name: queue },
    {
      concurrency,
      ...(settings ? { settings } : {}),
      lockDuration: config.env.JOB_LOCK_DURATION_MS,
      stalledInterval: config.env.JOB_STALLED_INTERVAL_MS,
      maxStalledCount: config.env.JOB_MAX_STALLED_COUNT,
    },
  )(processor);
  return processor;
}
