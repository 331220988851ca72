import { Injectable } from '@nestjs/common';
import { Clock } from '@/infra/clock/clock';
import { emptyTallies, reliabilityScore, type ReliabilityScore } from './domain/reliability-score';
import { ReliabilityRepository } from './reliability.repository';

/** A provider as public data shows it (DESIGN, "Who sees whom"): display name and score, no id. */
export interface PublicProvider {
  name: string;
  reliability: ReliabilityScore;
}

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

  /** Each named provider's display name and score, for the book and listings; unknown ids are left out. */
  async publicProvidersOf(organisationIds: readonly string[]): Promise<Map<string, PublicProvider>> {
    const unique = [...new Set(organisationIds)];
    const [names, scores] = await Promise.all([
      this.repository.findPublicNames(unique),
      this.scoresOf(unique),
    ]);
    const providers = new Map<string, PublicProvider>();
    for (const [id, name] of names) {
      const reliability = scores.get(id);
      if (reliability !== undefined) providers.set(id, { name, reliability });
    }
    return providers;
  }

  /** The provider behind each site named, for a quote's supply lines; unknown sites are left out. */
  async publicProvidersOfSites(siteIds: readonly string[]): Promise<Map<string, PublicProvider>> {
    const owners = await this.repository.findPublicSiteOwners([...new Set(siteIds)]);
    const providers = await this.publicProvidersOf([...owners.values()]);
    const bySite = new Map<string, PublicProvider>();
    for (const [siteId, organisationId] of owners) {
      const provider = providers.get(organisationId);
      if (provider !== undefined) bySite.set(siteId, provider);
    }
    return bySite;
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
