import { Injectable, Logger } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { Clock } from '@/infra/clock/clock';
import { AppConfig } from '@/infra/config/app-config';
import { floorHour, HOUR_MS } from './domain/stats-windows';
import { IdleSchedule } from '@/modules/markets/domain/idle-schedule';
import { idleWindowsOf } from '@/modules/markets/domain/order-terms';
import { StatsSnapshotsRepository, type IdleInterval } from './stats-snapshots.repository';

// An offer's 24 h outcome is final 25 h after its placement hour began: refresh at least that far back.
const OUTCOME_HOURS = 25;

export interface RefreshSummary {
  from: Date;
  to: Date;
  siteRows: number;
  marketRows: number;
  outcomeRows: number;
}

/**
 * Recomputes the hourly snapshots of the last STATS_REFRESH_HOURS complete hours from Postgres
 * (the source of truth). Idempotent: each run replaces its buckets in one transaction.
 */
@Injectable()
export class StatsRefreshService {
  private readonly logger = new Logger(StatsRefreshService.name);

  constructor(
    private readonly snapshots: StatsSnapshotsRepository,
    private readonly clock: Clock,
    private readonly config: AppConfig,
  ) {}

  @Transactional()
  async refresh(hours: number = this.config.env.STATS_REFRESH_HOURS): Promise<RefreshSummary> {
    const now = this.clock.now();
    const to = floorHour(now);
    const from = new Date(to.getTime() - hours * HOUR_MS);
    const outcomesFrom = new Date(to.getTime() - Math.max(hours, OUTCOME_HOURS) * HOUR_MS);
    const siteRows = await this.snapshots.systemRefreshSiteHours(
      from,
      to,
      now,
      await this.idleIntervals(from, to),
    );
    const marketRows = await this.snapshots.systemRefreshMarketHours(from, to, now);
    const outcomeRows = await this.snapshots.systemRefreshOfferOutcomes(outcomesFrom, to, now);
    this.logger.debug(
      `stats refreshed ${from.toISOString()}..${to.toISOString()}: ${siteRows}/${marketRows}/${outcomeRows} rows`,
    );
    return { from, to, siteRows, marketRows, outcomeRows };
  }

  /** The published idle windows of the offers that have them, clipped to [from, to). */
  private async idleIntervals(from: Date, to: Date): Promise<IdleInterval[]> {
    const intervals: IdleInterval[] = [];
    for (const offer of await this.snapshots.systemIdleWindowOffers(from, to)) {
      const spec = idleWindowsOf(offer.idleWindows, offer.reclaimNoticeMinutes);
      if (spec === null) continue;
      for (const window of new IdleSchedule(spec).intervals(from.getTime(), to.getTime())) {
        const start = Math.max(window.start, from.getTime());
        const end = Math.min(window.end, to.getTime());
        intervals.push({ offerId: offer.id, start: new Date(start), end: new Date(end) });
      }
    }
    return intervals;
  }
}
