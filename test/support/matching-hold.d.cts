import type { Redis } from 'ioredis';
import type { MatchingRunProbe, RunMoment } from '@/modules/matching/matching-run-probe';

export declare function holdKeys(
  prefix: string,
  marketId: string,
  moment?: RunMoment,
): { hold: string; held: string };

export declare class MatchingHold implements MatchingRunProbe {
  readonly active: true;
  constructor(client: Redis, prefix: string);
  at(moment: RunMoment, marketId: string): Promise<void>;
}
