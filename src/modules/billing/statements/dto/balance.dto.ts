import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { PageQuery } from '@/infra/pagination/page';
import { StatementFormatQuery } from './statement.dto';

export const ACCOUNT_KINDS = [
  'BUYER_AVAILABLE',
  'BUYER_HELD',
  'PROVIDER_EARNINGS',
  'PROVIDER_RECEIVABLE',
] as const;

export class CurrencyBalanceResponse {
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiPropertyOptional({ example: '4520.00', description: 'Buyers: credit free to back new bids' })
  available?: string;
  @ApiPropertyOptional({
    example: '480.00',
    description: 'Buyers: open bids (max price x GPUs x hours) plus unsettled leases at their trade price',
  })
  held?: string;
  @ApiPropertyOptional({
    example: '1288.00',
    description: 'Providers: earnings after fees, not yet paid out',
  })
  earnings?: string;
  @ApiPropertyOptional({
    example: '0.00',
    description:
      'Providers: penalties owed that earnings did not cover (a receivable); netted from later proceeds, ' +
      'and payouts are refused (409 RECEIVABLE_OPEN) until it is 0.00',
  })
  owed?: string;
}

export class BalanceResponse {
  @ApiProperty({ type: [CurrencyBalanceResponse] }) balances!: CurrencyBalanceResponse[];
}

export class LedgerEntryResponse {
  @ApiProperty({ example: '1042' }) id!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ enum: ACCOUNT_KINDS }) account!: string;
  @ApiProperty({ example: '-480.00', description: 'Signed: negative lowers the account' }) amount!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ format: 'uuid' }) transferId!: string;
  @ApiProperty({ example: 'BID_HOLD' }) kind!: string;
  @ApiProperty({ nullable: true, type: String }) memo!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) bidId!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) leaseId!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) topUpId!: string | null;
}

export class LedgerEntryPageResponse {
  @ApiProperty({ type: [LedgerEntryResponse] }) data!: LedgerEntryResponse[];
  @ApiProperty({ nullable: true, type: String, description: 'Null on the last page' }) nextCursor!:
    string | null;
}

export class ListEntriesQuery extends IntersectionType(PageQuery, StatementFormatQuery) {
  @ApiPropertyOptional({ example: 'CNY' })
  @IsOptional()
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code such as CNY' })
  currency?: string;
}
