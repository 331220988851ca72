import { ApiProperty } from '@nestjs/swagger';
import { RESTING_REASONS } from '../domain/bid-explanation';
import { CheapestExcludedResponse, QuotedSiteResponse, QuoteExclusionResponse } from './quote-bid.dto';

/** A quote's exclusion with the number of offers it removed. */
export class BidExclusionResponse extends QuoteExclusionResponse {
  @ApiProperty({ example: 2, description: 'Offers with free GPUs this constraint excluded' })
  offers!: number;
}

export class BidExplanationResponse {
  @ApiProperty({ format: 'uuid' }) bidId!: string;
  @ApiProperty({ example: 'nvidia-h100-80gb' }) market!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ enum: ['OPEN', 'PARTIALLY_FILLED'], description: 'Only a live bid has an explanation' })
  status!: string;
  @ApiProperty({ example: 8, description: 'GPUs the bid still wants: gpus - filledGpus' })
  remainingGpus!: number;
  @ApiProperty({
    enum: ['CONTINUOUS', 'CALL'],
    description: 'How the market matches: CONTINUOUS as orders arrive, CALL once per window',
  })
  matchingMode!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '2026-12-01T00:00:01.000Z',
    description: 'CALL markets: when the market next clears; null for CONTINUOUS markets',
  })
  nextClearingAt!: string | null;
  @ApiProperty({
    enum: RESTING_REASONS,
    description:
      'Why the bid rests, the first that holds (docs/MATCHING.md "Why a bid rests"): EXPIRY_REACHED (the sweep ' +
      'closes it), MARKET_PAUSED, ORGANISATION_NOT_VERIFIED (matching does not see it), NO_ELIGIBLE_SUPPLY (every ' +
      'free offer is excluded, see `excluded`), ALL_OR_NOTHING_SHORT (eligible supply is less than the remaining ' +
      'GPUs of an all-or-nothing bid), AWAITING_CLEARING (CALL: eligible supply exists; the next clearing ' +
      'allocates it among every resting bid), AWAITING_RUN (CONTINUOUS: eligible supply freed or offered since ' +
      'the last run; the next run takes it in price-time priority)',
  })
  reason!: string;
  @ApiProperty({
    description:
      "Free GPUs of offers that pass every rule for the bid's own terms, up to its remaining GPUs (the " +
      'same first allocation a quote makes)',
  })
  eligibleGpus!: number;
  @ApiProperty({
    description: 'GPUs a match would fill now (0 for an all-or-nothing bid that cannot fill whole)',
  })
  fillableGpus!: number;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '18.33',
    description: 'Volume-weighted ask of the fillable GPUs, rounded down',
  })
  vwap!: string | null;
  @ApiProperty({
    type: [QuotedSiteResponse],
    description: 'Where the fillable GPUs are, by (anonymous) site',
  })
  sites!: QuotedSiteResponse[];
  @ApiProperty({
    type: [BidExclusionResponse],
    description:
      'The free supply each rule removed, in the order of docs/MATCHING.md "Quotes", each offer counted once ' +
      'under the first rule it breaks; rules that removed nothing are left out',
  })
  excluded!: BidExclusionResponse[];
  @ApiProperty({ type: CheapestExcludedResponse, nullable: true })
  cheapestExcluded!: CheapestExcludedResponse | null;
  @ApiProperty({
    example:
      'No free supply passes every rule for this bid now. Removed: 8 GPUs in 1 offer ask above your price cap.',
    description: 'One sentence for people',
  })
  summary!: string;
}
