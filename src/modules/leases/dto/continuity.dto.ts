import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';
import { IsInstant } from '@/infra/http/field-validators';
import { MAX_EXTENSION_HOURS } from '../domain/extension-rules';

export class ExtendLeaseDto {
  @ApiProperty({
    example: 24,
    minimum: 1,
    maximum: MAX_EXTENSION_HOURS,
    description:
      'Whole hours to add to the lease’s end, at its trade price (docs/LEASES.md "Extending a lease")',
  })
  @IsInt()
  @Min(1)
  @Max(MAX_EXTENSION_HOURS)
  hours!: number;
}

export class LeaseExtensionResponse {
  @ApiProperty({ example: 1, description: '1 for the lease’s first extension, then 2, ...' }) number!: number;
  @ApiProperty({ example: 24 }) hours!: number;
  @ApiProperty({ example: '18.20', description: 'The lease’s trade price per GPU-hour' })
  pricePerGpuHour!: string;
  @ApiProperty({
    example: '1747.20',
    required: false,
    description: 'What moved to held: price x GPUs x hours (the buyer’s view only)',
  })
  amount?: string;
  @ApiProperty({ format: 'date-time' }) previousEndsAt!: string;
  @ApiProperty({ format: 'date-time' }) endsAt!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class LeaseExtensionListResponse {
  @ApiProperty({ type: [LeaseExtensionResponse], description: 'Oldest first' })
  data!: LeaseExtensionResponse[];
}

export const REPORT_KINDS = ['PROVIDER_FAILED'] as const;
export const REPORT_STATUSES = ['OPEN', 'CONFIRMED', 'REJECTED'] as const;
export const REPORT_DECISIONS = ['CONFIRMED', 'REJECTED'] as const;

export class ReportProviderFailureDto {
  @ApiPropertyOptional({
    format: 'date-time',
    description:
      'When the failure began, as the buyer saw it: not in the future, not before the lease was made. ' +
      'Default: now. The exchange stamps its own time as `reportedAt` either way',
  })
  @IsOptional()
  @IsInstant()
  observedAt?: string;

  @ApiPropertyOptional({
    example: 'Endpoint answers 503 since 02:10; no response to our ticket',
    description: 'What the buyer saw (kept as evidence)',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  detail?: string;
}

export class LeaseReportResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) leaseId!: string;
  @ApiProperty({ enum: REPORT_KINDS }) kind!: string;
  @ApiProperty({
    enum: ['PROVISIONING', 'RUNNING'],
    description: 'PROVISIONING: reported before access was handed over; RUNNING: after the start',
  })
  phase!: string;
  @ApiProperty({ format: 'date-time', description: 'When the buyer says the failure began' })
  observedAt!: string;
  @ApiProperty({ format: 'date-time', description: 'When the exchange received the report' })
  reportedAt!: string;
  @ApiProperty({ nullable: true, type: String }) detail!: string | null;
  @ApiProperty({
    enum: REPORT_STATUSES,
    description: 'OPEN: evidence only; CONFIRMED: an admin found the provider at fault; REJECTED: unfounded',
  })
  status!: string;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) decidedAt!: string | null;
  @ApiProperty({ nullable: true, type: String }) decisionNote!: string | null;
}

export class LeaseReportListResponse {
  @ApiProperty({ type: [LeaseReportResponse] }) data!: LeaseReportResponse[];
}

export class DecideLeaseReportDto {
  @ApiProperty({ enum: REPORT_DECISIONS })
  @IsIn(REPORT_DECISIONS)
  status!: (typeof REPORT_DECISIONS)[number];

  @ApiProperty({
    example: 'Provider’s own logs show the endpoint down 02:10-09:40',
    description: 'Kept in the audit log',
  })
  @IsString()
  @MinLength(3)
  @MaxLength(1000)
  note!: string;
}

export class ListLeaseReportsQuery {
  @ApiPropertyOptional({ enum: REPORT_STATUSES, description: 'Default OPEN' })
  @IsOptional()
  @IsIn(REPORT_STATUSES)
  status?: (typeof REPORT_STATUSES)[number];

  @ApiPropertyOptional({ minimum: 1, maximum: 100, description: 'Default 50' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;
}
