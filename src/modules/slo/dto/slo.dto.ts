import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsDateString,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { SloTermsResponse } from '@/modules/markets/dto/slo-terms.response';
import { MAX_OUTPUT_TOKENS_PER_SECOND_PER_GPU, MAX_TTFT_MS } from '../domain/slo-rules';

export class ReportSloDto {
  @ApiProperty({ format: 'date-time', description: "The start of one of the lease's billing periods" })
  @IsDateString({ strict: true })
  periodStart!: string;

  @ApiPropertyOptional({
    enum: ['REPORT', 'PROBE'],
    description:
      "REPORT (when absent): the side's own measurement (the provider's must be one); PROBE: a buyer's probe result",
  })
  @IsOptional()
  @IsIn(['REPORT', 'PROBE'])
  method?: 'REPORT' | 'PROBE';

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 100,
    example: 99.2,
    description: 'Availability measured over the period, percent, at most two decimals',
  })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 })
  @Min(0)
  @Max(100)
  availabilityPercent?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: MAX_TTFT_MS, example: 420 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_TTFT_MS)
  ttftP95Ms?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    maximum: MAX_OUTPUT_TOKENS_PER_SECOND_PER_GPU,
    example: 300,
    description: 'Sustained output tokens/s per leased GPU measured over the period',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_OUTPUT_TOKENS_PER_SECOND_PER_GPU)
  outputTokensPerSecondPerGpu?: number;

  @ApiPropertyOptional({
    maxLength: 500,
    example: 'synthetic probe every 30 s from Shanghai; 29 of 120 failed',
  })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  note?: string;
}

export class DisputeSloDto {
  @ApiProperty({
    format: 'date-time',
    description: "The start of the period whose miss the buyer's evidence shows",
  })
  @IsDateString({ strict: true })
  periodStart!: string;

  @ApiProperty({
    minLength: 3,
    maxLength: 1000,
    example: 'our gateway log shows 99.97% for the hour; attached',
  })
  @IsString()
  @MinLength(3)
  @MaxLength(1000)
  reason!: string;
}

export class SloSignerResponse {
  @ApiProperty({ enum: ['api_key', 'user'] }) kind!: string;
  @ApiProperty({ format: 'uuid' }) id!: string;
}

export class SloReportResponse {
  @ApiProperty({ format: 'uuid' }) leaseId!: string;
  @ApiProperty({ example: 2 }) period!: number;
  @ApiProperty({ format: 'date-time' }) periodStart!: string;
  @ApiProperty({ format: 'date-time' }) periodEnd!: string;
  @ApiProperty({ enum: ['PROVIDER', 'BUYER'] }) source!: string;
  @ApiProperty({ enum: ['REPORT', 'PROBE', 'PROVIDER_FAILED'] }) method!: string;
  @ApiProperty({ nullable: true, type: Number, example: 99.2 }) availabilityPercent!: number | null;
  @ApiProperty({ nullable: true, type: Number, example: 420 }) ttftP95Ms!: number | null;
  @ApiProperty({ nullable: true, type: Number, example: 300 }) outputTokensPerSecondPerGpu!: number | null;
  @ApiProperty({ nullable: true, type: String }) note!: string | null;
  @ApiProperty({
    type: [String],
    example: ['AVAILABILITY'],
    description: "Objectives this evidence shows missed against the lease's SLO",
  })
  objectivesMissed!: string[];
  @ApiProperty({ type: SloSignerResponse, description: 'The credential that submitted it' })
  signer!: SloSignerResponse;
  @ApiProperty({
    example: '5f0c…',
    description: 'Hex HMAC-SHA-256 of the canonical evidence under the exchange evidence key (docs/SLO.md)',
  })
  digest!: string;
  @ApiProperty({ format: 'date-time' }) submittedAt!: string;
  @ApiProperty({
    description:
      "True on a buyer's PROVIDER_FAILED evidence whose failure report an admin rejected: the evidence is " +
      'withdrawn and settlement decides the period without it (docs/SLO.md "A failure report decided")',
  })
  withdrawn!: boolean;
}

export class SloDisputeRefResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: ['OPEN', 'RESOLVED'] }) status!: string;
  @ApiProperty({ enum: ['MET', 'MISSED'], nullable: true, type: String }) outcome!: string | null;
  @ApiProperty({ format: 'date-time' }) openedAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) resolvedAt!: string | null;
}

export class SloOutcomeResponse {
  @ApiProperty({ enum: ['MET', 'MISSED'] }) outcome!: string;
  @ApiProperty({
    enum: ['MET', 'PROVIDER_SILENT', 'PROVIDER_REPORTED', 'BUYER_REPORTED', 'DISPUTE_MET', 'DISPUTE_MISSED'],
  })
  reason!: string;
  @ApiProperty({ type: [String] }) objectivesMissed!: string[];
  @ApiProperty({ example: 10 }) creditPercent!: number;
  @ApiProperty({ example: '1.82', description: "What the buyer was credited from the provider's proceeds" })
  credit!: string;
  @ApiProperty({ format: 'date-time' }) settledAt!: string;
}

export class SloPeriodResponse {
  @ApiProperty({ example: 2 }) period!: number;
  @ApiProperty({ format: 'date-time' }) periodStart!: string;
  @ApiProperty({ format: 'date-time' }) periodEnd!: string;
  @ApiProperty({ type: SloReportResponse, nullable: true }) provider!: SloReportResponse | null;
  @ApiProperty({ type: SloReportResponse, nullable: true }) buyer!: SloReportResponse | null;
  @ApiProperty({ format: 'date-time', description: 'Evidence for the period is taken until then' })
  evidenceClosesAt!: string;
  @ApiProperty({
    format: 'date-time',
    description: "The provider may dispute the buyer's evidence until then; the period settles after it",
  })
  disputeClosesAt!: string;
  @ApiProperty({ type: SloDisputeRefResponse, nullable: true }) dispute!: SloDisputeRefResponse | null;
  @ApiProperty({ type: SloOutcomeResponse, nullable: true, description: 'Once the period settled' })
  outcome!: SloOutcomeResponse | null;
}

export class LeaseSloResponse {
  @ApiProperty({ format: 'uuid' }) leaseId!: string;
  @ApiProperty({
    type: SloTermsResponse,
    nullable: true,
    description: 'The SLO copied from the offer at match',
  })
  slo!: SloTermsResponse | null;
  @ApiProperty({ example: '0.00', description: 'SLO credits paid on this lease so far, a decimal string' })
  credited!: string;
  @ApiProperty({ type: [SloPeriodResponse], description: 'Started periods so far, oldest first' })
  periods!: SloPeriodResponse[];
}
