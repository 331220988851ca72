import { Injectable, Logger, type BeforeApplicationShutdown } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { WorkerHost } from '@nestjs/bullmq';
import { AppConfig } from '@/infra/config/app-config';
import { JobOutcomes } from './job-outcomes.service';

/**
 * Drains active jobs for a bounded grace before Nest closes the rest, then sends the job outcome
 * counts still gathered. A job cut off by the deadline keeps its lock until it expires; BullMQ's
 * stall handling then re-runs it, which is safe because every job is idempotent.
 */
@Injectable()
export class WorkerShutdown implements BeforeApplicationShutdown {
  private readonly logger = new Logger(WorkerShutdown.name);

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly config: AppConfig,
    private readonly outcomes: JobOutcomes,
  ) {}

  async beforeApplicationShutdown(): Promise<void> {
    const workers = this.discovery
      .getProviders()
      .map((wrapper) => wrapper.instance as unknown)
      .filter((instance): instance is WorkerHost => instance instanceof WorkerHost)
      .map((host) => host.worker);
    if (workers.length === 0) return;
    const grace = this.config.env.SHUTDOWN_GRACE_MS;
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.all(workers.map((w) => w.close())).then(() => true),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), grace);
      }),
    ]);
    clearTimeout(timer);
    if (drained) {
      this.logger.log(`workers drained (${workers.length} queues)`);
    } else {
      this.logger.warn(`jobs still active after ${grace} ms; stall handling will re-run them`);
    }
    // The outcomes of the jobs just drained, before Redis closes (onApplicationShutdown).
    await this.outcomes
      .flush()
      .catch((error: Error) => this.logger.warn(`job outcomes not counted: ${error.message}`));
  }
}
