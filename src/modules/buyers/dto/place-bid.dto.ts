import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { BillingMode } from '@/generated/prisma/enums';
import { MAX_DURATION_HOURS, MAX_GPUS_PER_ORDER } from '@/shared/money';
import { IsDivisionCode, IsInstant, IsMarketSlug } from '@/infra/http/field-validators';
import { MAX_BID_LIFETIME_DAYS, MAX_BID_PROVINCES } from '../domain/bid-rules';

export const BILLING_MODES = Object.values(BillingMode);

export class PlaceBidDto {
  @ApiProperty({
    example: 'nvidia-h100-80gb',
    description: 'Market slug (see GET /v1/markets); must be ACTIVE',
  })
  @IsMarketSlug()
  market!: string;

  @ApiProperty({ minimum: 1, maximum: MAX_GPUS_PER_ORDER, example: 8 })
  @IsInt()
  @Min(1)
  @Max(MAX_GPUS_PER_ORDER)
  gpus!: number;

  @ApiProperty({
    example: '18.20',
    description:
      'Price cap per GPU-hour as a decimal string in the market currency (CNY: up to 2 decimals, max 1000000.00)',
  })
  @IsString()
  @MaxLength(64)
  maxPricePerGpuHour!: string;

  @ApiProperty({ minimum: 1, maximum: MAX_DURATION_HOURS, example: 24, description: 'Lease length in hours' })
  @IsInt()
  @Min(1)
  @Max(MAX_DURATION_HOURS)
  durationHours!: number;

  @ApiPropertyOptional({
    type: [String],
    example: ['520000', '150000'],
    maxItems: MAX_BID_PROVINCES,
    description: 'Allowed provinces (GB/T 2260 codes, unique); empty or absent (the default) means anywhere',
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_BID_PROVINCES)
  @ArrayUnique()
  @IsDivisionCode({ each: true })
  provinces?: string[];

  @ApiPropertyOptional({
    minimum: 1,
    description:
      'Fewest GPUs of this bid placed at any one site (co-location); at most gpus. Default 1: any split',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_GPUS_PER_ORDER)
  minGpusPerSite?: number;

  @ApiProperty({ description: 'Whether the bid may fill in parts; false means all GPUs at once or nothing' })
  @IsBoolean()
  partialAllowed!: boolean;

  @ApiProperty({
    enum: BILLING_MODES,
    description: 'RESERVED bills every reserved GPU-second; PAY_PER_USE bills reported usage',
  })
  @IsIn(BILLING_MODES)
  billingMode!: BillingMode;

  @ApiProperty({
    example: '2027-03-02T08:00:00Z',
    description: `When the unfilled part lapses: ISO 8601 with an offset, in the future, at most ${MAX_BID_LIFETIME_DAYS} days ahead`,
  })
  @IsInstant()
  expiresAt!: string;
}
