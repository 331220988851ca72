import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { PageQuery } from '@/infra/pagination/page';

export class AuditQuery extends PageQuery {
  @ApiPropertyOptional({ format: 'uuid', description: 'The admin who acted (user id)' })
  @IsOptional()
  @IsUUID()
  actor?: string;

  @ApiPropertyOptional({ example: 'organisation', description: 'Kind of object acted on' })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z_]{1,32}$/, { message: 'targetType must be 1-32 lower-case letters or _' })
  targetType?: string;

  @ApiPropertyOptional({ description: 'Id of the object acted on (with or without targetType)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  targetId?: string;

  @ApiPropertyOptional({ example: 'organisation.suspend' })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z_.-]{1,64}$/, { message: 'action must be 1-64 characters of a-z . _ -' })
  action?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Entries at or after this instant' })
  @IsOptional()
  @IsISO8601({ strict: true })
  from?: string;

  @ApiPropertyOptional({ format: 'date-time', description: 'Entries before this instant' })
  @IsOptional()
  @IsISO8601({ strict: true })
  to?: string;
}

export class AuditEntryResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'uuid', description: 'The platform admin (a person) who acted' })
  actorUserId!: string;
  @ApiProperty({ nullable: true, type: String, description: 'That admin’s email, if the user still exists' })
  actorEmail!: string | null;
  @ApiProperty({ example: 'organisation.suspend' }) action!: string;
  @ApiProperty({ example: 'organisation' }) targetType!: string;
  @ApiProperty() targetId!: string;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'What changed (before/after, reason, counts), per action',
  })
  details!: Record<string, unknown>;
}

export class AuditPageResponse {
  @ApiProperty({ type: [AuditEntryResponse] }) data!: AuditEntryResponse[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
