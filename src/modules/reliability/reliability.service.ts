import { Injectable } from '@nestjs/common';
import { Clock } from '@/infra/clock/clock';
import { emptyTallies, reliabilityScore, type ReliabilityScore } from './domain/reliability-score';
import { ReliabilityRepository } from './reliability.repository';

/** Providers' reliability scores, computed from their lease outcomes when read. */
@Injectable()
export class ReliabilityService {
  constructor(
    private readonly repository: ReliabilityRepository,
    private readonly clock: Clock,
  ) {}

  /** The score of each provider named, a new provider's (the prior) when it has no outcomes. */
  async scoresOf(organisationIds: readonly string[]): Promise<Map<string, ReliabilityScore>> {
    const unique = [...new Set(organisationIds)];
    const tallies = await this.repository.findPublicTallies(unique, this.clock.now());
    return new Map(unique.map((id) => [id, reliabilityScore(tallies.get(id) ?? emptyTallies())]));
  }

  async scoreOf(organisationId: string): Promise<ReliabilityScore> {
    const scores = await this.scoresOf([organisationId]);
    return scores.get(organisationId) ?? reliabilityScore(emptyTallies());
  }

  /**
   * Stores the current score of each provider named, the copy matching reads. Runs in the caller's
   * transaction (an event consumer's, so once per event). Returns how many changed.
   */
  async refresh(organisationIds: readonly string[]): Promise<number> {
    const scores = await this.scoresOf(organisationIds);
    return this.repository.systemStoreScores(
      new Map([...scores].map(([id, score]) => [id, score.score])),
      this.clock.now(),
    );
  }

  /** Refreshes every provider a refresh may move (decay moves scores with no event), in pages. */
  async refreshAll(pageSize = 500): Promise<{ providers: number; changed: number }> {
    let after: string | undefined;
    let providers = 0;
    let changed = 0;
    for (;;) {
      const page = await this.repository.systemProvidersToRefresh(this.clock.now(), after, pageSize);
      if (page.length === 0) return { providers, changed };
      providers += page.length;
      changed += await this.refresh(page);
      after = page[page.length - 1];
    }
  }
}
