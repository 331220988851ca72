import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { PublicProviderResponse } from '@/modules/reliability/dto/public-provider.response';
import { WindowTimesResponse } from './idle-windows.response';

export const BOOK_DEPTH_DEFAULT = 20;
export const BOOK_DEPTH_MAX = 100;

export class BookQuery {
  @ApiPropertyOptional({
    minimum: 1,
    maximum: BOOK_DEPTH_MAX,
    default: BOOK_DEPTH_DEFAULT,
    description: 'Price levels per side',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(BOOK_DEPTH_MAX)
  depth?: number;
}

export class BookLevelResponse {
  @ApiProperty({ example: '18.20', description: 'Price per GPU-hour, decimal string in the market currency' })
  price!: string;
  @ApiProperty({ example: 64, description: 'Free GPUs (asks) or unfilled GPUs (bids) at this price' })
  gpus!: number;
  @ApiProperty({ example: 3, description: 'Orders at this price' }) orders!: number;
}

/** `nextWindowOpensAt` and `windowClosesAt`: the level's offers combined (docs/LEASES.md "Idle windows"). */
export class AskLevelResponse extends IntersectionType(BookLevelResponse, WindowTimesResponse) {
  @ApiProperty({
    type: [PublicProviderResponse],
    description:
      'The providers with free GPUs at this price, by display name and reliability score with its components ' +
      '(docs/RELIABILITY.md), best score first. No organisation, offer or site id',
  })
  providers!: PublicProviderResponse[];
}

export class BookResponse {
  @ApiProperty({ example: 'nvidia-h100-80gb' }) market!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ enum: ['ACTIVE', 'PAUSED'] }) status!: string;
  @ApiProperty({ format: 'date-time', description: 'The instant the book describes' }) asOf!: string;
  @ApiProperty({
    type: [AskLevelResponse],
    description: 'Offers inside their availability window with free GPUs, cheapest first',
  })
  asks!: AskLevelResponse[];
  @ApiProperty({ type: [BookLevelResponse], description: 'Unexpired bids with unfilled GPUs, highest first' })
  bids!: BookLevelResponse[];
}
