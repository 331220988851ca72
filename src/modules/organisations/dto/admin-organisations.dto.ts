import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PageQuery } from '@/infra/pagination/page';
import { OrganisationResponse } from './organisation.dto';

export class AdminOrganisationQuery extends PageQuery {
  @ApiPropertyOptional({ enum: ['PENDING_VERIFICATION', 'VERIFIED', 'SUSPENDED'] })
  @IsOptional()
  @IsIn(['PENDING_VERIFICATION', 'VERIFIED', 'SUSPENDED'])
  status?: 'PENDING_VERIFICATION' | 'VERIFIED' | 'SUSPENDED';

  @ApiPropertyOptional({ enum: ['PROVIDER', 'BUYER'] })
  @IsOptional()
  @IsIn(['PROVIDER', 'BUYER'])
  role?: 'PROVIDER' | 'BUYER';

  @ApiPropertyOptional({ description: 'Case-insensitive substring of the name' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  q?: string;
}

export class OrganisationPageResponse {
  @ApiProperty({ type: [OrganisationResponse] }) data!: OrganisationResponse[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}

export class SuspendOrganisationDto {
  @ApiProperty({
    minLength: 1,
    maxLength: 1000,
    description: 'Why; kept in the audit log (not shown to the organisation)',
    example: 'Chargeback fraud under investigation (case 2026-118)',
  })
  @IsString()
  @Matches(/\S/, { message: 'reason must not be blank' })
  @MaxLength(1000)
  reason!: string;
}

export class ReinstateOrganisationDto {
  @ApiPropertyOptional({ maxLength: 1000, description: 'Why; kept in the audit log' })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  reason?: string;
}

export class OrganisationSuspensionResponse {
  @ApiProperty({ type: OrganisationResponse }) organisation!: OrganisationResponse;
  @ApiProperty({ description: 'Live bids this suspension cancelled (their holds released); 0 on a repeat' })
  cancelledBids!: number;
  @ApiProperty({ description: 'Live offers this suspension cancelled (unleased capacity withdrawn)' })
  cancelledOffers!: number;
}
