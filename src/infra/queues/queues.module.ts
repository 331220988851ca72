import { BullModule } from '@nestjs/bullmq';
import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { redisOptionsFromUrl } from '../redis/redis-connection';
import { QUEUE } from './job-catalogue';
import { JobProducer } from './job-producer.service';

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
  providers: [JobProducer],
  exports: [JobProducer, BullModule],
})
export class QueuesModule {}
