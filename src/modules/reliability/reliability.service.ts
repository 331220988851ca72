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
}
