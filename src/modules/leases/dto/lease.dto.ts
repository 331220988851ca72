import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { IsMarketSlug } from '../../../infra/http/field-validators';
import { PageQuery } from '../../../infra/pagination/page';

export const LEASE_STATUSES = ['SCHEDULED', 'ACTIVE', 'ENDED', 'TERMINATED'] as const;

export class LeaseResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'nvidia-h100-80gb' }) market!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ format: 'uuid' }) bidId!: string;
  @ApiProperty({ format: 'uuid' }) offerId!: string;
  @ApiProperty({ format: 'uuid' }) buyerOrganisationId!: string;
  @ApiProperty({ format: 'uuid' }) providerOrganisationId!: string;
  @ApiProperty({ format: 'uuid' }) siteId!: string;
  @ApiProperty({ example: 4 }) gpus!: number;
  @ApiProperty({ example: '18.20', description: 'Trade price per GPU-hour' }) pricePerGpuHour!: string;
  @ApiProperty({ example: 24 }) durationHours!: number;
  @ApiProperty({ enum: ['RESERVED', 'PAY_PER_USE'] }) billingMode!: string;
  @ApiProperty({ example: 300, description: "The market's fee at match, basis points" }) feeBps!: number;
  @ApiProperty({ example: 30 }) payPerUseMinPercent!: number;
  @ApiProperty({ example: 3600 }) periodSeconds!: number;
  @ApiProperty({
    enum: LEASE_STATUSES,
    description: 'SCHEDULED -> ACTIVE (access handed over) -> ENDED | TERMINATED (reason)',
  })
  status!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    enum: ['PROVIDER_FAILURE', 'BUYER_REQUEST', 'PROVIDER_REQUEST', 'ADMIN'],
  })
  terminationReason!: string | null;
  @ApiProperty({ format: 'date-time', description: 'Access must be handed over by then' })
  provisioningDeadline!: string;
  @ApiProperty({ description: 'The provider has handed over access details' }) accessReady!: boolean;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) startedAt!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) endsAt!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) endedAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class LeasePageResponse {
  @ApiProperty({ type: [LeaseResponse] }) data!: LeaseResponse[];
  @ApiProperty({ nullable: true, type: String, description: 'Null on the last page' }) nextCursor!:
    string | null;
}

export class ListLeasesQuery extends PageQuery {
  @ApiPropertyOptional({ example: 'nvidia-h100-80gb' })
  @IsOptional()
  @IsMarketSlug()
  market?: string;

  @ApiPropertyOptional({ enum: LEASE_STATUSES })
  @IsOptional()
  @IsIn(LEASE_STATUSES)
  status?: (typeof LEASE_STATUSES)[number];
}

export class AccessCredentialDto {
  @ApiProperty({
    example: 'api_key',
    description: 'What the value is: api_key, token, username, password, ssh_key',
  })
  @IsString()
  @Matches(/^[a-z][a-z0-9_]{0,31}$/, { message: 'name must be a short snake_case word' })
  name!: string;

  @ApiProperty({ example: 'sk-live-…' })
  @IsString()
  @MaxLength(8192)
  value!: string;
}

export class HandOverAccessDto {
  @ApiProperty({ example: 'https://inference.gz-dc.example/v1', description: 'Where the buyer connects' })
  @IsString()
  @MaxLength(2048)
  @IsUrl({ protocols: ['https', 'http', 'ssh', 'grpc', 'grpcs'], require_protocol: true, require_tld: false })
  endpoint!: string;

  @ApiProperty({ type: [AccessCredentialDto], description: 'Secrets the buyer needs; stored encrypted' })
  @IsArray()
  @ArrayMaxSize(16)
  @ValidateNested({ each: true })
  @Type(() => AccessCredentialDto)
  credentials!: AccessCredentialDto[];

  @ApiPropertyOptional({ example: 'Models preloaded: qwen2.5-72b; rate limit 200 rps' })
  @IsOptional()
  @IsString()
  @MaxLength(4000)
  instructions?: string;
}

export class AccessDetailsResponse {
  @ApiProperty({ format: 'uuid' }) leaseId!: string;
  @ApiProperty() endpoint!: string;
  @ApiProperty({ type: [AccessCredentialDto] }) credentials!: AccessCredentialDto[];
  @ApiProperty({ nullable: true, type: String }) instructions!: string | null;
  @ApiProperty({ format: 'date-time' }) handedOverAt!: string;
}
