import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsEmail, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';

export class CreateInvitationDto {
  @ApiProperty({ example: 'colleague@buyer.example' })
  @IsEmail()
  @MaxLength(320)
  email!: string;

  @ApiPropertyOptional({ enum: ['OWNER', 'MEMBER'], description: 'Default MEMBER' })
  @IsOptional()
  @IsIn(['OWNER', 'MEMBER'])
  role?: 'OWNER' | 'MEMBER';
}

export class AcceptInvitationDto {
  @ApiProperty({ description: 'The one-time token from the invitation' })
  @IsString()
  @MaxLength(128)
  token!: string;

  @ApiProperty({ minLength: 12, maxLength: 256 })
  @IsString()
  @MaxLength(1024)
  password!: string;
}

export class InvitationResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() email!: string;
  @ApiProperty({ enum: ['OWNER', 'MEMBER'] }) role!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
  @ApiProperty({
    type: String,
    nullable: true,
    description:
      'One-time token; deliver it to the invitee (for example in a link). Shown once. Null in an ' +
      'idempotent replay (`Idempotent-Replayed: true`): the token is never stored.',
  })
  token!: string | null;
}
