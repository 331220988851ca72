/**
 * The development clock: `npm run clock` shows the exchange's time, `npm run clock -- +2h` (or
 * `-30m`, `+1d`, an ISO instant, `now`) moves it for every API and worker process started with
 * CLOCK=controllable on the same REDIS_URL and REDIS_PREFIX. docs/DEVELOPMENT.md tells the story.
 */
import { Redis } from 'ioredis';
import { loadEnvironment } from '@/config/app-config';
import { CLOCK_REDIS_KEY } from '@/infra/clock/clock.module';
import { parseClockCommand } from '@/infra/clock/clock-shift';
import { ControllableClock } from '@/infra/clock/controllable-clock';
import { SystemClock } from '@/infra/clock/system-clock';
import { redisOptionsFromUrl } from '@/infra/redis/redis-connection';

const USAGE = 'usage: clock [+2h | -30m | +1d12h | 2027-01-01T00:00:00Z | now]';

async function main(args: string[]): Promise<number> {
  const env = loadEnvironment(undefined, { requireSecrets: false });
  if (env.NODE_ENV === 'production') throw new Error('the controllable clock is refused in production');
  const wallNow = new SystemClock().now();
  const command = args.length <= 1 ? parseClockCommand(args[0], wallNow) : undefined;
  if (command === undefined) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const redis = new Redis({ ...redisOptionsFromUrl(env.REDIS_URL), maxRetriesPerRequest: 1 });
  try {
    // Starting from the wall time when no process has pinned the clock yet, as the first process would.
    const clock = await ControllableClock.join(
      redis,
      `${env.REDIS_PREFIX}:${CLOCK_REDIS_KEY}`,
      wallNow.getTime(),
    );
    try {
      if (command.kind === 'advance') await clock.advance(command.ms);
      if (command.kind === 'set') await clock.set(command.at);
    } finally {
      clock.stop();
    }
    process.stdout.write(`${clock.now().toISOString()}\n`);
    if (env.CLOCK !== 'controllable')
      process.stderr.write('clock: only processes started with CLOCK=controllable follow this time\n');
    return 0;
  } finally {
    redis.disconnect();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`clock: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
