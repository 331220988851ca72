import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsObject, IsOptional, IsString, MaxLength, MinLength, ValidateNested } from 'class-validator';
import { PageQuery } from '@/infra/pagination/page';
import { TokenCountsDto } from './token-usage.dto';

const STATUSES = ['OPEN', 'RESOLVED'] as const;

export class AdminListDisputesQuery extends PageQuery {
  @ApiPropertyOptional({ enum: STATUSES, default: 'OPEN' })
  @IsOptional()
  @IsIn(STATUSES)
  status?: (typeof STATUSES)[number];
}

export class AdminListUsageFlagsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: ['false', 'true'], default: 'false', description: 'Reviewed flags instead' })
  @IsOptional()
  @IsIn(['false', 'true'])
  reviewed?: 'false' | 'true';
}

export class AdminNoteDto {
  @ApiProperty({
    example: 'buyer log export and provider gateway log agree on 9.1M prompt tokens',
    maxLength: 1000,
  })
  @IsString()
  @MinLength(3)
  @MaxLength(1000)
  note!: string;
}

export class SloDecisionDto {
  @ApiProperty({
    enum: ['MET', 'MISSED'],
    description: "Whether the period met the lease's SLO; MISSED credits the buyer when the period settles",
  })
  @IsIn(['MET', 'MISSED'])
  outcome!: 'MET' | 'MISSED';
}

export class ResolveDisputeDto extends AdminNoteDto {
  @ApiPropertyOptional({
    type: TokenCountsDto,
    description:
      'USAGE disputes (required for them, refused for others): the counts that stand for the period',
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => TokenCountsDto)
  usage?: TokenCountsDto;

  @ApiPropertyOptional({
    type: SloDecisionDto,
    description: "SLO disputes (required for them, refused for others): the period's outcome",
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => SloDecisionDto)
  slo?: SloDecisionDto;
}

export class CountsEvidence {
  @ApiProperty({ example: '9400000' }) promptTokens!: string;
  @ApiProperty({ example: '2300000' }) outputTokens!: string;
}

export class UsageEvidenceResponse {
  @ApiProperty({ enum: ['USAGE'] }) kind!: string;
  @ApiProperty({ type: CountsEvidence }) provider!: CountsEvidence;
  @ApiProperty({ type: CountsEvidence }) buyer!: CountsEvidence;
  @ApiProperty({ example: '1000', description: 'Least difference that counts as a mismatch, in tokens' })
  toleranceTokens!: string;
  @ApiProperty({ example: 200, description: 'Relative tolerance, basis points of the larger count' })
  toleranceBps!: number;
}

export class SloMeasuresEvidence {
  @ApiProperty({ enum: ['REPORT', 'PROBE', 'PROVIDER_FAILED'] }) method!: string;
  @ApiProperty({ nullable: true, type: Number, example: 9950 }) availabilityBps!: number | null;
  @ApiProperty({ nullable: true, type: Number, example: 420 }) ttftP95Ms!: number | null;
  @ApiProperty({ nullable: true, type: Number, example: 300 }) outputTokensPerSecondPerGpu!: number | null;
  @ApiProperty({ description: 'HMAC-SHA-256 of the canonical evidence (docs/SLO.md)' }) digest!: string;
  @ApiProperty({ format: 'date-time' }) submittedAt!: string;
}

export class SloTermsEvidence {
  @ApiProperty({ example: 9950 }) availabilityBps!: number;
  @ApiProperty({ nullable: true, type: Number }) ttftP95Ms!: number | null;
  @ApiProperty({ nullable: true, type: Number }) outputTokensPerSecondPerGpu!: number | null;
  @ApiProperty({ example: 10 }) creditPercent!: number;
}

export class SloEvidenceResponse {
  @ApiProperty({ enum: ['SLO'] }) kind!: string;
  @ApiProperty({ type: SloTermsEvidence }) slo!: SloTermsEvidence;
  @ApiProperty({ type: SloMeasuresEvidence }) provider!: SloMeasuresEvidence;
  @ApiProperty({ type: SloMeasuresEvidence }) buyer!: SloMeasuresEvidence;
  @ApiProperty({ type: [String], example: ['AVAILABILITY'] }) objectivesMissed!: string[];
  @ApiProperty() providerReason!: string;
}

export class SloDecisionResponse {
  @ApiProperty({ enum: ['SLO'] }) kind!: string;
  @ApiProperty({ enum: ['MET', 'MISSED'] }) outcome!: string;
}

export class UsageDecisionResponse {
  @ApiProperty({ enum: ['USAGE'] }) kind!: string;
  @ApiProperty({ example: '9100000' }) promptTokens!: string;
  @ApiProperty({ example: '2300000' }) outputTokens!: string;
}

export class AdminDisputeResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) leaseId!: string;
  @ApiProperty({ format: 'uuid' }) buyerOrganisationId!: string;
  @ApiProperty({ format: 'uuid' }) providerOrganisationId!: string;
  @ApiProperty({ example: 2 }) period!: number;
  @ApiProperty({ format: 'date-time' }) periodStart!: string;
  @ApiProperty({ format: 'date-time' }) periodEnd!: string;
  @ApiProperty({ enum: ['USAGE', 'SLO'] }) kind!: string;
  @ApiProperty({ enum: STATUSES }) status!: string;
  @ApiProperty({
    oneOf: [{ $ref: getSchemaPath(UsageEvidenceResponse) }, { $ref: getSchemaPath(SloEvidenceResponse) }],
    description: 'Typed by kind',
  })
  evidence!: UsageEvidenceResponse | SloEvidenceResponse;
  @ApiProperty({
    // OpenAPI 3.0 has no null type: null is the third alternative, a nullable empty object.
    oneOf: [
      { $ref: getSchemaPath(UsageDecisionResponse) },
      { $ref: getSchemaPath(SloDecisionResponse) },
      { type: 'object', nullable: true, maxProperties: 0, description: 'null while OPEN' },
    ],
    description: 'Typed by kind; null while OPEN',
  })
  decision!: UsageDecisionResponse | SloDecisionResponse | null;
  @ApiProperty({ description: "Whether the period's settlement waits (waited) for the decision" })
  holdsSettlement!: boolean;
  @ApiProperty({ format: 'date-time' }) openedAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) resolvedAt!: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) resolvedByUserId!: string | null;
  @ApiProperty({ nullable: true, type: String }) resolutionNote!: string | null;
}

export class AdminDisputePageResponse {
  @ApiProperty({ type: [AdminDisputeResponse] }) data!: AdminDisputeResponse[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class AdminUsageFlagResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) leaseId!: string;
  @ApiProperty({ example: 2 }) period!: number;
  @ApiProperty({ format: 'date-time' }) periodStart!: string;
  @ApiProperty({ enum: ['PROVIDER', 'BUYER'] }) source!: string;
  @ApiProperty({ example: '900000000' }) promptTokens!: string;
  @ApiProperty({ example: '90000000' }) outputTokens!: string;
  @ApiProperty({ example: '7200', description: 'GPUs x the period length' }) periodGpuSeconds!: string;
  @ApiProperty({ example: 412_345.6, description: 'GPU-seconds the counts need at the most favourable rate' })
  neededGpuSeconds!: number;
  @ApiProperty({ enum: ['DECLARED', 'REFERENCE'] }) basis!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) reviewedAt!: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) reviewedByUserId!: string | null;
  @ApiProperty({ nullable: true, type: String }) reviewNote!: string | null;
}

export class AdminUsageFlagPageResponse {
  @ApiProperty({ type: [AdminUsageFlagResponse] }) data!: AdminUsageFlagResponse[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
