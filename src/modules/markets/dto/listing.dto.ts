import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { PageQuery } from '@/infra/pagination/page';
import { ReliabilityResponse } from '@/modules/reliability/dto/reliability.response';
import { DivisionResponse } from './province.dto';
import { IsDivisionCode, IsMarketSlug } from '@/infra/http/field-validators';

export class ListingsQuery extends PageQuery {
  @ApiPropertyOptional({ example: 'nvidia-h100-80gb', description: 'Only this market' })
  @IsOptional()
  @IsMarketSlug()
  market?: string;

  @ApiPropertyOptional({ example: '520000', description: 'Only sites in this province (GB/T 2260 code)' })
  @IsOptional()
  @IsDivisionCode()
  province?: string;
}

export class ListingProviderResponse {
  @ApiProperty({ example: 'Guizhou Compute Co.', description: 'Public display name (no ids are shown)' })
  name!: string;
  @ApiProperty({
    type: ReliabilityResponse,
    description: "The provider's reliability score (docs/RELIABILITY.md)",
  })
  reliability!: ReliabilityResponse;
}

export class ListingResponse {
  @ApiProperty({ example: 'nvidia-h100-80gb' }) market!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ type: ListingProviderResponse }) provider!: ListingProviderResponse;
  @ApiProperty({ type: DivisionResponse }) province!: DivisionResponse;
  @ApiProperty({ type: DivisionResponse }) city!: DivisionResponse;
  @ApiProperty({ enum: ['TIER_I', 'TIER_II', 'TIER_III', 'TIER_IV'], description: 'Uptime Institute tier' })
  uptimeTier!: string;
  @ApiProperty({ example: 16, description: 'GPUs not held by leases' }) freeGpus!: number;
  @ApiProperty({ example: '18.20', description: 'Ask per GPU-hour, decimal string' })
  pricePerGpuHour!: string;
  @ApiProperty({ format: 'date-time' }) availableFrom!: string;
  @ApiProperty({ format: 'date-time' }) availableUntil!: string;
  @ApiProperty({ example: 1, description: 'Shortest lease the provider accepts, in hours' })
  minLeaseHours!: number;
  @ApiProperty({
    example: 30,
    description: 'Pay-per-use minimum: share of reserved GPU-seconds always billed',
  })
  payPerUseMinPercent!: number;
  @ApiProperty({
    example: 24,
    description:
      'Notice the provider gives before ending an ACTIVE lease early, in hours; ending it sooner pays the buyer a penalty (docs/LEASES.md)',
  })
  terminationNoticeHours!: number;
}

export class ListingPageResponse {
  @ApiProperty({ type: [ListingResponse] }) data!: ListingResponse[];
  @ApiProperty({ nullable: true, type: String, description: 'Null on the last page' }) nextCursor!:
    string | null;
}
