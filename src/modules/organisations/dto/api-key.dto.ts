import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { IsInstant } from '@/infra/http/field-validators';
import { API_KEY_SCOPES, type ApiKeyScope } from '@/infra/auth/principal';

export const MAX_ROTATION_OVERLAP_SECONDS = 7 * 24 * 3_600;

export class CreateApiKeyDto {
  @ApiProperty({ example: 'usage reporter, site A', maxLength: 100 })
  @IsString()
  @IsNotEmpty()
  @MaxLength(100)
  name!: string;

  @ApiPropertyOptional({
    enum: API_KEY_SCOPES,
    isArray: true,
    description:
      '`orders`: sites, offers, bids (implies `read`); `read`: read only; `usage`: usage reports only. ' +
      'Default `["orders"]`',
  })
  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(API_KEY_SCOPES.length)
  @IsIn(API_KEY_SCOPES, { each: true })
  scopes?: ApiKeyScope[];

  @ApiPropertyOptional({ description: 'Optional expiry: an ISO 8601 instant with an offset, in the future' })
  @IsOptional()
  @IsInstant()
  expiresAt?: string;
}

export class RotateApiKeyDto {
  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_ROTATION_OVERLAP_SECONDS,
    description: 'How long the old key keeps working after rotation (seconds). Default 86400 (a day)',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_ROTATION_OVERLAP_SECONDS)
  overlapSeconds?: number;
}

export class ApiKeyResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ description: 'Public part of the key, safe to log', example: 'cx_live_abcdefghjkmn' })
  prefix!: string;
  @ApiProperty({ example: 'x9Qa', description: 'Last four characters of the key' }) lastFour!: string;
  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true }) scopes!: string[];
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) lastUsedAt!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) expiresAt!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) revokedAt!: string | null;
  @ApiProperty({ enum: ['active', 'expired', 'revoked'] }) state!: 'active' | 'expired' | 'revoked';
}

export class CreatedApiKeyResponse extends ApiKeyResponse {
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'The secret key. Shown once; store it now. Null in an idempotent replay (`Idempotent-Replayed: true`): ' +
      'the secret is never stored.',
  })
  key!: string | null;
}

export class ApiKeyPageResponse {
  @ApiProperty({ type: [ApiKeyResponse] }) data!: ApiKeyResponse[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
