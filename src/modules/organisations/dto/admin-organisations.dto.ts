import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQuery } from '../../../infra/pagination/page';
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
