import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { MAX_GPUS_PER_ORDER } from '@/shared/money';
import { IsInstant, IsMarketSlug } from '@/infra/http/field-validators';
import {
  DEFAULT_TERMINATION_NOTICE_HOURS,
  MAX_MIN_LEASE_HOURS,
  MAX_TERMINATION_NOTICE_HOURS,
} from '../domain/offer-rules';
import { IdleWindowsDto } from './idle-windows.dto';
import { OfferSloDto } from './offer-slo.dto';

export class PlaceOfferDto {
  @ApiProperty({
    example: 'nvidia-h100-80gb',
    description: 'Market slug (see GET /v1/markets); must be ACTIVE',
  })
  @IsMarketSlug()
  market!: string;

  @ApiProperty({ format: 'uuid', description: 'One of your sites' })
  @IsUUID()
  siteId!: string;

  @ApiProperty({ minimum: 1, maximum: MAX_GPUS_PER_ORDER, example: 16 })
  @IsInt()
  @Min(1)
  @Max(MAX_GPUS_PER_ORDER)
  gpus!: number;

  @ApiProperty({
    example: '18.20',
    description:
      'Ask per GPU-hour as a decimal string in the market currency (CNY: up to 2 decimals, max 1000000.00)',
  })
  @IsString()
  @MaxLength(64)
  pricePerGpuHour!: string;

  @ApiProperty({
    example: '2027-03-01T08:00:00Z',
    description: 'ISO 8601 instant with an offset; may be in the past',
  })
  @IsInstant()
  availableFrom!: string;

  @ApiProperty({
    example: '2027-04-01T08:00:00Z',
    description:
      'After availableFrom, in the future, at most 366 days ahead, leaving room for one minimum lease',
  })
  @IsInstant()
  availableUntil!: string;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_MIN_LEASE_HOURS,
    description: 'Shortest lease accepted, hours. Default 1',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_MIN_LEASE_HOURS)
  minLeaseHours?: number;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: 100,
    description:
      'Pay-per-use minimum: share of reserved GPU-seconds billed when reported usage is lower. Default 0. ' +
      'Per-token inference bids take the offer only when their takeOrPayPercent is at least this ' +
      '(docs/MATCHING.md rule 4, TAKE_OR_PAY)',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(100)
  payPerUseMinPercent?: number;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_TERMINATION_NOTICE_HOURS,
    description:
      'Notice you give a buyer before ending one of its ACTIVE leases early, hours; ending one sooner ' +
      `costs the penalty in docs/LEASES.md. Default ${DEFAULT_TERMINATION_NOTICE_HOURS}`,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_TERMINATION_NOTICE_HOURS)
  terminationNoticeHours?: number;

  @ApiPropertyOptional({
    type: IdleWindowsDto,
    description:
      'Recurring idle windows (docs/LEASES.md "Idle windows"): leases start only inside them, and a bid ' +
      'that does not fit one whole trades only if it is interruptible. Fixed once placed',
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => IdleWindowsDto)
  idleWindows?: IdleWindowsDto;

  @ApiPropertyOptional({
    type: OfferSloDto,
    description:
      'A service level per billing period: misses credit the buyer at settlement from your proceeds ' +
      '(docs/SLO.md). TTFT and throughput objectives apply to leases of inference bids only.',
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => OfferSloDto)
  slo?: OfferSloDto;
}
