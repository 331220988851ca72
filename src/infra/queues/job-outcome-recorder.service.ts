import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { WorkerHost } from '@nestjs/bullmq';
import type { Job } from 'bullmq';
import { failureOutcome, type JobOutcome } from './job-outcomes';
import { JobOutcomes } from './job-outcomes.service';

/** Counts every job outcome of this worker process's BullMQ workers into JobOutcomes. */
@Injectable()
export class JobOutcomeRecorder implements OnApplicationBootstrap {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly outcomes: JobOutcomes,
  ) {}

  onApplicationBootstrap(): void {
    const workers = this.discovery
      .getProviders()
      .map((wrapper) => wrapper.instance as unknown)
      .filter((instance): instance is WorkerHost => instance instanceof WorkerHost)
      .map((host) => host.worker);
    for (const worker of workers) {
      worker.on('completed', (job: Job) => this.count(worker.name, job.name, 'completed'));
      worker.on('failed', (job: Job | undefined) => {
        if (job !== undefined) this.count(worker.name, job.name, failureOutcome(job));
      });
    }
  }

  // A metric is never worth failing or delaying a job for: gathered here, sent in batches.
  private count(queue: string, name: string, outcome: JobOutcome): void {
    this.outcomes.record(queue, name, outcome);
  }
}
