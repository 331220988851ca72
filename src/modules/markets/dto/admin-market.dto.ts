import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { MAX_CALL_WINDOW_MS, MIN_CALL_WINDOW_MS } from '../domain/call-window-bounds';
import { MAX_MARKET_FEE_BPS } from '../domain/trading-rules';
import { MarketResponse } from './market.dto';

export class MarketMatchingStats {
  @ApiProperty({
    example: '42',
    description: 'Fence of the market’s runs: moves on every commit (decimal string)',
  })
  epoch!: string;
  @ApiProperty({ example: '42', description: 'Runs that committed fills (decimal string)' })
  commits!: string;
  @ApiProperty({
    example: '0',
    description: 'Commits rejected because another run had committed since the read (decimal string)',
  })
  staleCommits!: string;
  @ApiProperty({ type: String, nullable: true, example: '2026-12-01T00:00:00.000Z' })
  lastCommitAt!: string | null;
}

export class AdminMarketResponse extends MarketResponse {
  @ApiProperty({
    example: '2026-12-01T00:00:00.000Z',
    description: 'Last change of status, fee or matching mode',
  })
  updatedAt!: string;
  @ApiProperty({ type: MarketMatchingStats })
  matching!: MarketMatchingStats;
}

export class AdminMarketListResponse {
  @ApiProperty({ type: [AdminMarketResponse] }) data!: AdminMarketResponse[];
}

export class UpdateMarketDto {
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    maximum: MAX_MARKET_FEE_BPS,
    example: 250,
    description: 'Platform fee in basis points; copied onto leases matched after the change only',
  })
  @IsInt()
  @Min(0)
  @Max(MAX_MARKET_FEE_BPS)
  feeBps!: number;
}

export class SetMarketMatchingDto {
  @ApiProperty({
    enum: ['CONTINUOUS', 'CALL'],
    example: 'CALL',
    description: 'CONTINUOUS: price-time, run by run; CALL: one clearing of the whole book per window',
  })
  @IsIn(['CONTINUOUS', 'CALL'])
  matchingMode!: 'CONTINUOUS' | 'CALL';

  @ApiPropertyOptional({
    type: 'integer',
    minimum: MIN_CALL_WINDOW_MS,
    maximum: MAX_CALL_WINDOW_MS,
    example: 1000,
    description: 'A CALL market’s window in ms; omitted: the market keeps its current window',
  })
  @IsOptional()
  @IsInt()
  @Min(MIN_CALL_WINDOW_MS)
  @Max(MAX_CALL_WINDOW_MS)
  callWindowMs?: number;
}
