import { ApiProperty } from '@nestjs/swagger';
import { IsDateString, IsInt, Max, Min } from 'class-validator';

// Counts travel as JSON numbers: above 2^53 - 1 a number is no longer an exact integer.
const MAX_TOKENS = Number.MAX_SAFE_INTEGER;

export class TokenCountsDto {
  @ApiProperty({ type: 'integer', minimum: 0, maximum: MAX_TOKENS, example: 9_400_000 })
  @IsInt()
  @Min(0)
  @Max(MAX_TOKENS)
  promptTokens!: number;

  @ApiProperty({ type: 'integer', minimum: 0, maximum: MAX_TOKENS, example: 2_300_000 })
  @IsInt()
  @Min(0)
  @Max(MAX_TOKENS)
  outputTokens!: number;
}

export class StateTokenCountsDto extends TokenCountsDto {
  @ApiProperty({ format: 'date-time', description: "The start of one of the lease's billing periods" })
  @IsDateString({ strict: true })
  periodStart!: string;
}

export class DisputeRef {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ['USAGE'] }) kind!: string;
  @ApiProperty({ enum: ['OPEN', 'RESOLVED'] }) status!: string;
  @ApiProperty({ description: "Whether the period's settlement waits for the decision" })
  holdsSettlement!: boolean;
  @ApiProperty({ format: 'date-time' }) openedAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) resolvedAt!: string | null;
}

export class TokenCountsResponse {
  @ApiProperty({ format: 'uuid' }) leaseId!: string;
  @ApiProperty({ example: 2, description: "The period's index (0-based)" }) period!: number;
  @ApiProperty({ format: 'date-time' }) periodStart!: string;
  @ApiProperty({ format: 'date-time' }) periodEnd!: string;
  @ApiProperty({ enum: ['PROVIDER', 'BUYER'], description: 'Whose counts these are: your side' })
  source!: string;
  @ApiProperty({ example: 9_400_000 }) promptTokens!: number;
  @ApiProperty({ example: 2_300_000 }) outputTokens!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({
    type: DisputeRef,
    nullable: true,
    description: "The period's usage dispute, if the two sides' counts differ beyond the tolerance",
  })
  dispute!: DisputeRef | null;
}

export class StatedCounts {
  @ApiProperty({ example: 9_400_000 }) promptTokens!: number;
  @ApiProperty({ example: 2_300_000 }) outputTokens!: number;
  @ApiProperty({ format: 'date-time' }) at!: string;
}

export class StandingCounts {
  @ApiProperty({ example: 9_400_000 }) promptTokens!: number;
  @ApiProperty({ example: 2_300_000 }) outputTokens!: number;
  @ApiProperty({ enum: ['PROVIDER', 'ADMIN'], description: "The provider's report, or an admin's decision" })
  source!: string;
}

export class PeriodTokensResponse {
  @ApiProperty({ example: 2 }) period!: number;
  @ApiProperty({ format: 'date-time' }) periodStart!: string;
  @ApiProperty({ format: 'date-time' }) periodEnd!: string;
  @ApiProperty({ type: StatedCounts, nullable: true }) provider!: StatedCounts | null;
  @ApiProperty({ type: StatedCounts, nullable: true }) buyer!: StatedCounts | null;
  @ApiProperty({ type: StatedCounts, nullable: true, description: "An admin's decision of a dispute" })
  decided!: StatedCounts | null;
  @ApiProperty({
    type: StandingCounts,
    nullable: true,
    description: 'The counts that stand: null while a dispute is open, or when the provider reported none',
  })
  standing!: StandingCounts | null;
  @ApiProperty({ type: DisputeRef, nullable: true }) dispute!: DisputeRef | null;
}

export class LeaseTokensResponse {
  @ApiProperty({ format: 'uuid' }) leaseId!: string;
  @ApiProperty({ type: [PeriodTokensResponse], description: 'Periods with any counts, in order' })
  periods!: PeriodTokensResponse[];
}
