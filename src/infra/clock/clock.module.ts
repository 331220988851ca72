import { Global, Module } from '@nestjs/common';
import { AppConfig } from '@/infra/config/app-config';
import { RedisService } from '@/infra/redis/redis.service';
import { Clock } from './clock';
import { ControllableClock } from './controllable-clock';
import { SystemClock } from './system-clock';

export const CLOCK_REDIS_KEY = 'clock:now';

@Global()
@Module({
  providers: [
    SystemClock,
    {
      provide: Clock,
      inject: [AppConfig, RedisService],
      useFactory: async (config: AppConfig, redis: RedisService): Promise<Clock> =>
        config.env.CLOCK === 'controllable'
          ? // The start instant is only a fallback: a clock joining a running test adopts the shared one.
            ControllableClock.join(
              redis.client,
              redis.key(CLOCK_REDIS_KEY),
              new SystemClock().now().getTime(),
            )
          : new SystemClock(),
    },
  ],
  exports: [Clock, SystemClock],
})
export class ClockModule {}
