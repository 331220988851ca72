import { ApiProperty } from '@nestjs/swagger';

export class MarketResponse {
  @ApiProperty({ example: 'nvidia-h100-80gb', description: 'Stable identifier used in URLs and bodies' })
  slug!: string;
  @ApiProperty({ example: 'NVIDIA' }) vendor!: string;
  @ApiProperty({ example: 'H100' }) model!: string;
  @ApiProperty({ example: 80, description: 'GPU memory in GB' }) memoryGb!: number;
  @ApiProperty({ example: 'CNY', description: 'ISO 4217 currency of every price in this market' })
  currency!: string;
  @ApiProperty({ example: 2, description: 'Decimal places of prices in this market' }) currencyScale!: number;
  @ApiProperty({ example: 300, description: 'Platform fee in basis points, taken from provider proceeds' })
  feeBps!: number;
  @ApiProperty({
    enum: ['ACTIVE', 'PAUSED'],
    description: 'A paused market accepts no new orders and matches nothing',
  })
  status!: string;
  @ApiProperty({
    enum: ['CONTINUOUS', 'CALL'],
    description:
      'How the market matches (docs/MATCHING.md): CONTINUOUS fills a bid as soon as the exchange learns of it; ' +
      'CALL clears the whole book once per window, at the multiples of callWindowMs plus callPhaseMs',
  })
  matchingMode!: string;
  @ApiProperty({
    example: 1000,
    minimum: 100,
    maximum: 60000,
    description: 'A CALL market’s window in ms (kept, unused, while CONTINUOUS)',
  })
  callWindowMs!: number;
  @ApiProperty({
    example: 250,
    minimum: 0,
    maximum: 59999,
    description:
      'A CALL market’s phase in its window, ms: it clears at the instants (ms since the Unix epoch) that are a ' +
      'multiple of callWindowMs plus this. Set by the exchange when the market is created or its window ' +
      'changes, spread across markets with the same window so that their clearings do not coincide',
  })
  callPhaseMs!: number;
}

export class MarketListResponse {
  @ApiProperty({ type: [MarketResponse] }) data!: MarketResponse[];
}
