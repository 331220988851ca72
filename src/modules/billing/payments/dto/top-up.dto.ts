import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, Matches, MaxLength, MinLength } from 'class-validator';
import { PageQuery } from '@/infra/pagination/page';

export const TOP_UP_STATUSES = ['PENDING', 'CONFIRMED', 'REJECTED'] as const;

export class RequestTopUpDto {
  @ApiProperty({ example: '5000.00', description: 'Amount to add, decimal string in the currency' })
  @IsString()
  @MaxLength(64)
  amount!: string;

  @ApiPropertyOptional({ example: 'CNY', description: 'A currency some market trades in. Default CNY' })
  @IsOptional()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code such as CNY' })
  currency?: string;
}

export class PaymentInstructionsResponse {
  @ApiProperty({ example: 'BANK_TRANSFER' }) method!: string;
  @ApiProperty({ example: 'Compute Exchange Ltd.' }) beneficiary!: string;
  @ApiProperty({ example: 'Bank of Example, Guiyang branch' }) bankName!: string;
  @ApiProperty({ example: '6222 0000 0000 0000' }) accountNumber!: string;
  @ApiProperty({ example: 'CX7K2M9Q4T', description: 'Write this on the transfer so it can be matched' })
  reference!: string;
  @ApiProperty({ example: '5000.00' }) amount!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
}

export class TopUpResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) organisationId!: string;
  @ApiProperty({ example: '5000.00' }) amount!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ enum: TOP_UP_STATUSES, description: 'PENDING -> CONFIRMED | REJECTED (final)' })
  status!: string;
  @ApiProperty({ example: 'CX7K2M9Q4T' }) reference!: string;
  @ApiProperty({ type: PaymentInstructionsResponse }) instructions!: PaymentInstructionsResponse;
  @ApiProperty({ nullable: true, type: String, description: "The bank's reference, set at confirmation" })
  bankReference!: string | null;
  @ApiProperty({ nullable: true, type: String }) rejectionReason!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) decidedAt!: string | null;
}

export class TopUpPageResponse {
  @ApiProperty({ type: [TopUpResponse] }) data!: TopUpResponse[];
  @ApiProperty({ nullable: true, type: String, description: 'Null on the last page' }) nextCursor!:
    string | null;
}

export class ListTopUpsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: TOP_UP_STATUSES })
  @IsOptional()
  @IsIn(TOP_UP_STATUSES)
  status?: (typeof TOP_UP_STATUSES)[number];
}

export class AdminListTopUpsQuery extends ListTopUpsQuery {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  organisationId?: string;
}

export class ConfirmTopUpDto {
  @ApiProperty({ example: 'BOC20261201-88231', description: "The received transfer's bank reference" })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  bankReference!: string;
}

export class RejectTopUpDto {
  @ApiProperty({ example: 'No matching transfer received within 14 days' })
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  reason!: string;
}
