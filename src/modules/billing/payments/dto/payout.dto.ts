import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, Matches, MaxLength, MinLength } from 'class-validator';
import { PageQuery } from '@/infra/pagination/page';

export const PAYOUT_STATUSES = ['PENDING', 'PAID', 'REJECTED'] as const;

export class SetBankAccountDto {
  @ApiProperty({ example: 'Guizhou Mountain DC Co., Ltd.' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  beneficiary!: string;

  @ApiProperty({ example: 'Bank of Guiyang, Guian branch' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  bankName!: string;

  @ApiProperty({
    example: '6222 0210 0101 2345 678',
    description: 'Stored encrypted; shown back as its last 4 digits',
  })
  @Matches(/^[0-9A-Za-z][0-9A-Za-z -]{5,62}[0-9A-Za-z]$/, {
    message: 'accountNumber must be 7-64 letters, digits, spaces or hyphens',
  })
  accountNumber!: string;
}

export class BankAccountResponse {
  @ApiProperty() beneficiary!: string;
  @ApiProperty() bankName!: string;
  @ApiProperty({ example: '5678' }) accountLast4!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class RequestPayoutDto {
  @ApiProperty({ example: '1288.00', description: 'Decimal string in the currency' })
  @IsString()
  @MaxLength(64)
  amount!: string;

  @ApiPropertyOptional({ example: 'CNY', description: 'ISO 4217 code. Default CNY' })
  @IsOptional()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code such as CNY' })
  currency?: string;
}

export class PayoutResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid' }) organisationId!: string;
  @ApiProperty({ enum: ['PROVIDER_EARNINGS', 'BUYER_AVAILABLE'], description: 'Paid from' }) source!: string;
  @ApiProperty({ example: '1288.00' }) amount!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ enum: PAYOUT_STATUSES, description: 'PENDING -> PAID | REJECTED (final)' }) status!: string;
  @ApiProperty() beneficiary!: string;
  @ApiProperty() bankName!: string;
  @ApiProperty({ example: '5678' }) accountLast4!: string;
  @ApiProperty({ nullable: true, type: String }) bankReference!: string | null;
  @ApiProperty({ nullable: true, type: String }) rejectionReason!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) decidedAt!: string | null;
}

export class AdminPayoutResponse extends PayoutResponse {
  @ApiProperty({ description: 'The full account number, for the admin making the transfer' })
  accountNumber!: string;
}

export class PayoutPageResponse {
  @ApiProperty({ type: [PayoutResponse] }) data!: PayoutResponse[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class AdminPayoutPageResponse {
  @ApiProperty({ type: [AdminPayoutResponse] }) data!: AdminPayoutResponse[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class ListPayoutsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: PAYOUT_STATUSES })
  @IsOptional()
  @IsIn(PAYOUT_STATUSES)
  status?: (typeof PAYOUT_STATUSES)[number];
}

export class AdminListPayoutsQuery extends ListPayoutsQuery {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  organisationId?: string;
}

export class ConfirmPayoutDto {
  @ApiProperty({ example: 'ICBC20261202-40117', description: "The sent transfer's bank reference" })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  bankReference!: string;
}

export class RejectPayoutDto {
  @ApiProperty({ example: 'Bank account name does not match the organisation' })
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  reason!: string;
}
