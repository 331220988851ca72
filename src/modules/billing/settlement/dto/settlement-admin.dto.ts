import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';
import { PageQuery } from '@/infra/pagination/page';
import { MAX_GPUS_PER_ORDER } from '@/shared/money';

export const SETTLEMENT_STATES = ['OPEN', 'COMPLETE', 'NEEDS_ATTENTION', 'VOIDED'] as const;

export class AdminListSettlementLeasesQuery extends PageQuery {
  @ApiPropertyOptional({ enum: SETTLEMENT_STATES, default: 'NEEDS_ATTENTION' })
  @IsOptional()
  @IsIn(SETTLEMENT_STATES)
  state?: (typeof SETTLEMENT_STATES)[number];
}

export class SettlementReasonDto {
  @ApiProperty({ example: 'provider confirmed the node was down the whole period', maxLength: 500 })
  @IsString()
  @MinLength(3)
  @MaxLength(500)
  reason!: string;
}

export class SettleByHandDto extends SettlementReasonDto {
  @ApiProperty({
    type: 'integer',
    example: 2,
    description: 'Index of the period (0-based); must be the next unsettled one',
  })
  @IsInt()
  @Min(0)
  @Max(10_000)
  period!: number;

  @ApiProperty({
    type: 'integer',
    example: 3600,
    description: 'GPU-seconds to charge, at most those the period reserved (GPUs x its length)',
  })
  @IsInt()
  @Min(0)
  // The longest period (1 h) of the largest lease.
  @Max(MAX_GPUS_PER_ORDER * 3600)
  gpuSeconds!: number;
}

export class SettlementPeriodRef {
  @ApiProperty({ example: 2 }) index!: number;
  @ApiProperty({ format: 'date-time' }) startsAt!: string;
  @ApiProperty({ format: 'date-time' }) endsAt!: string;
}

export class SettlementLeaseResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'nvidia-l40s-48gb' }) market!: string;
  @ApiProperty({ format: 'uuid' }) buyerOrganisationId!: string;
  @ApiProperty({ format: 'uuid' }) providerOrganisationId!: string;
  @ApiProperty({ enum: ['SCHEDULED', 'ACTIVE', 'ENDED', 'TERMINATED'] }) status!: string;
  @ApiProperty({ enum: ['RESERVED', 'PAY_PER_USE'] }) billingMode!: string;
  @ApiProperty({ example: 2 }) gpus!: number;
  @ApiProperty({ example: '10.00' }) pricePerGpuHour!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ format: 'date-time' }) startedAt!: string;
  @ApiProperty({ format: 'date-time', description: 'When it ends (running) or ended' }) endAt!: string;
  @ApiProperty({ enum: SETTLEMENT_STATES }) settlementState!: string;
  @ApiProperty({ type: String, nullable: true, description: 'Why settlement stopped' })
  settlementError!: string | null;
  @ApiProperty({ example: 1 }) settledPeriods!: number;
  @ApiProperty({
    example: 3,
    description: 'Periods of the lease as it stands (a running lease may end early)',
  })
  periods!: number;
  @ApiProperty({ type: SettlementPeriodRef, nullable: true, description: 'The next period to settle' })
  nextPeriod!: SettlementPeriodRef | null;
  @ApiProperty({ example: '20.00', description: 'What settled periods charged the buyer' })
  settledCost!: string;
  @ApiProperty({ example: '40.00', description: 'What the lease still holds of the buyer’s credit' })
  held!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class SettlementLeasePageResponse {
  @ApiProperty({ type: [SettlementLeaseResponse] }) data!: SettlementLeaseResponse[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
