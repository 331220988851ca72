import type { Redis } from 'ioredis';
import type { OrderPlacementProbe } from '@/modules/markets/order-placement-probe';

export declare function placementHoldKeys(prefix: string): {
  hold: string;
  held: string;
  batches: string;
  queued: (pid: number) => string;
};

export declare class PlacementHold implements OrderPlacementProbe {
  readonly active: true;
  constructor(client: Redis, prefix: string);
  queued(waiting: number): void;
  beforeCommit(placements: number): Promise<void>;
  onModuleDestroy(): void;
}
