import { ApiProperty } from '@nestjs/swagger';
import { IsInt, IsString, Max, MaxLength, Min } from 'class-validator';
import { MAX_REPLACEMENTS } from '../domain/replacement-rules';

export class AutoReplaceDto {
  @ApiProperty({
    minimum: 1,
    maximum: MAX_REPLACEMENTS,
    example: 3,
    description: 'Most re-placements in all (this bid’s and its re-placements’ leases together)',
  })
  @IsInt()
  @Min(1)
  @Max(MAX_REPLACEMENTS)
  maxCount!: number;

  @ApiProperty({
    example: '5000.00',
    description:
      'Most the re-placements may hold together, a decimal string in the market currency: each counts its ' +
      'full hold (max price x GPUs x hours) when placed',
  })
  @IsString()
  @MaxLength(64)
  budget!: string;
}

export class ReplacementPlanResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ example: 3 }) maxCount!: number;
  @ApiProperty({ example: '5000.00' }) budget!: string;
  @ApiProperty({ example: 1 }) usedCount!: number;
  @ApiProperty({ example: '1747.20' }) usedBudget!: string;
  @ApiProperty({ example: 2 }) remainingCount!: number;
  @ApiProperty({ example: '3252.80' }) remainingBudget!: string;
  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'When the buyer stopped it',
  })
  stoppedAt!: string | null;
}
