import type { Redis } from 'ioredis';
import type { MatchingRunProbe } from '@/modules/matching/matching-run-probe';

export declare function holdKeys(prefix: string, marketId: string): { hold: string; held: string };

export declare class MatchingHold implements MatchingRunProbe {
  readonly active: true;
  constructor(client: Redis, prefix: string);
  afterBookRead(marketId: string): Promise<void>;
}
