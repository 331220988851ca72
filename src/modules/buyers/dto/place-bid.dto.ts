import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { Type } from 'class-transformer';
import { BillingMode } from '@/generated/prisma/enums';
import { MAX_DURATION_HOURS, MAX_GPUS_PER_ORDER } from '@/shared/money';
import { IsDivisionCode, IsInstant, IsMarketSlug } from '@/infra/http/field-validators';
import { MAX_BID_LIFETIME_DAYS, MAX_BID_PROVINCES } from '../domain/bid-rules';
import { InferenceBidTermsDto } from './inference-bid.dto';
import { AutoReplaceDto } from './replacement.dto';

export const BILLING_MODES = Object.values(BillingMode);

// A GPU bid states its GPU terms; an inference bid leaves them to the exchange's sizing.
const gpuBid = (o: PlaceBidDto): boolean => o.inference === undefined;

export class PlaceBidDto {
  @ApiPropertyOptional({
    example: 'nvidia-h100-80gb',
    description:
      'Market slug (see GET /v1/markets); must be ACTIVE. Required for a GPU bid; an inference bid without ' +
      'one trades in the market its quote ranks best',
  })
  @ValidateIf((o: PlaceBidDto) => gpuBid(o) || o.market !== undefined)
  @IsMarketSlug()
  market?: string;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_GPUS_PER_ORDER,
    example: 8,
    description: 'GPU bids (required); absent on an inference bid',
  })
  @ValidateIf(gpuBid)
  @IsInt()
  @Min(1)
  @Max(MAX_GPUS_PER_ORDER)
  gpus?: number;

  @ApiPropertyOptional({
    example: '18.20',
    description:
      'GPU bids (required): price cap per GPU-hour as a decimal string in the market currency (CNY: up to 2 ' +
      'decimals, max 1000000.00); absent on an inference bid',
  })
  @ValidateIf(gpuBid)
  @IsString()
  @MaxLength(64)
  maxPricePerGpuHour?: string;

  @ApiPropertyOptional({
    type: InferenceBidTermsDto,
    description:
      'An inference bid (docs/INFERENCE.md "Inference bids"): model, throughput, TTFT p95 SLO and price cap per ' +
      'million tokens, sized into GPUs by the exchange. Leave gpus, maxPricePerGpuHour and billingMode out',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => InferenceBidTermsDto)
  inference?: InferenceBidTermsDto;

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
      'Fewest GPUs of this bid placed at any one site (co-location); at most gpus. Default 1: any split. ' +
      'An inference bid raises it to one whole replica of its model',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_GPUS_PER_ORDER)
  minGpusPerSite?: number;

  @ApiProperty({ description: 'Whether the bid may fill in parts; false means all GPUs at once or nothing' })
  @IsBoolean()
  partialAllowed!: boolean;

  @ApiPropertyOptional({
    example: 85,
    description:
      'Trade only with providers whose reliability score (0-100, one decimal; docs/RELIABILITY.md) is at least this. ' +
      'Absent: any provider. A new provider scores 80',
  })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 1 })
  @Min(0)
  @Max(100)
  minProviderScore?: number;

  @ApiPropertyOptional({
    description:
      'Accept being reclaimed by the provider at an idle-window offer’s reclaim notice, with no penalty: such a ' +
      'bid may start in an idle window it does not fit whole (docs/LEASES.md "Idle windows"). Default false',
  })
  @IsOptional()
  @IsBoolean()
  interruptible?: boolean;

  @ApiPropertyOptional({
    enum: BILLING_MODES,
    description:
      'GPU bids (required): RESERVED bills every reserved GPU-second; PAY_PER_USE bills reported usage. ' +
      'Absent on an inference bid',
  })
  @ValidateIf(gpuBid)
  @IsIn(BILLING_MODES)
  billingMode?: BillingMode;

  @ApiPropertyOptional({
    type: AutoReplaceDto,
    description:
      'Re-place this bid automatically, with the same terms, for the GPUs of each of its leases that ends or ' +
      'is ended for any reason but your own early end, within a count and a budget (docs/LEASES.md ' +
      '"Re-placing a bid automatically")',
  })
  @IsOptional()
  @ValidateNested()
  @Type(() => AutoReplaceDto)
  autoReplace?: AutoReplaceDto;

  @ApiProperty({
    example: '2027-03-02T08:00:00Z',
    description: `When the unfilled part lapses: ISO 8601 with an offset, in the future, at most ${MAX_BID_LIFETIME_DAYS} days ahead`,
  })
  @IsInstant()
  expiresAt!: string;
}
