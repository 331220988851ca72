import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength, ValidateIf } from 'class-validator';

export class CurrencyQuery {
  @ApiPropertyOptional({ example: 'CNY', description: 'ISO 4217 code. Default CNY' })
  @IsOptional()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code such as CNY' })
  currency?: string;
}

/** A limit to set, or null to remove it. */
export class SetLimitDto extends CurrencyQuery {
  @ApiProperty({
    type: String,
    nullable: true,
    example: '5000.00',
    description: 'Decimal string in the currency (0 allowed); null removes the limit',
  })
  @ValidateIf((dto: SetLimitDto) => dto.amount !== null)
  @IsString({ message: 'amount must be a decimal string such as "5000.00", or null' })
  @MaxLength(64)
  amount!: string | null;
}

export class SpendCapResponse {
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ type: String, nullable: true, example: '5000.00', description: 'Null: no cap' })
  amount!: string | null;
  @ApiProperty({ enum: ['CALENDAR_MONTH'] }) period!: 'CALENDAR_MONTH';
  @ApiProperty({ example: 'Asia/Shanghai' }) timeZone!: string;
  @ApiProperty({ format: 'date-time', description: 'This period, from (inclusive)' }) periodStartsAt!: string;
  @ApiProperty({ format: 'date-time', description: 'This period, to (exclusive)' }) periodEndsAt!: string;
  @ApiProperty({
    example: '1240.00',
    description: 'Charges settled this period plus everything held now (open bids and unsettled leases)',
  })
  committed!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    example: '3760.00',
    description: 'What new bids may still hold this period; null without a cap',
  })
  remaining!: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) updatedAt!: string | null;
}

export class LowBalanceThresholdResponse {
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    example: '500.00',
    description: 'balance.low is written when available credit falls from at or above this to below it',
  })
  amount!: string | null;
  @ApiProperty({ example: '4520.00', description: 'Available credit now' }) available!: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) updatedAt!: string | null;
}
