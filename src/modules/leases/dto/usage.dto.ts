import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsDateString, IsInt, IsOptional, Max, Min } from 'class-validator';

export class ReportUsageDto {
  @ApiProperty({ format: 'date-time', description: "The start of one of the lease's billing periods" })
  @IsDateString({ strict: true })
  periodStart!: string;

  @ApiProperty({
    example: 12_600,
    description: 'GPU-seconds used in the period; at most GPUs x period length',
  })
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  gpuSeconds!: number;

  @ApiPropertyOptional({ example: 1_850_000, description: 'Tokens served, for the buyer’s statement' })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  tokens?: number;
}

export class UsageReportResponse {
  @ApiProperty({ format: 'uuid' }) leaseId!: string;
  @ApiProperty({ format: 'date-time' }) periodStart!: string;
  @ApiProperty({ format: 'date-time' }) periodEnd!: string;
  @ApiProperty({ example: 12_600 }) gpuSeconds!: number;
  @ApiProperty({ nullable: true, type: Number }) tokens!: number | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}
