import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { AppConfig } from '@/infra/config/app-config';
import { redisOptionsFromUrl } from '@/infra/redis/redis-connection';
import { QUEUE } from './job-catalogue';
import { JobOutcomes } from './job-outcomes.service';
import { JobProducer } from './job-producer.service';
import { QueueBacklog } from './queue-backlog.service';

const queues = Object.values(QUEUE).map((name) => ({ name }));

@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        // Workers block on Redis; BullMQ requires unlimited retries per request for them.
        connection: { ...redisOptionsFromUrl(config.env.REDIS_URL), maxRetriesPerRequest: null },
        prefix: `${config.env.REDIS_PREFIX}:bull`,
      }),
    }),
    BullModule.registerQueue(...queues),
  ],
  providers: [JobProducer, QueueBacklog, JobOutcomes],
  exports: [JobProducer, QueueBacklog, JobOutcomes, BullModule],
})
export class QueuesModule {}
