import { ApiProperty } from '@nestjs/swagger';
import { CreatedApiKeyResponse } from './api-key.dto';

export class OrganisationResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['PROVIDER', 'BUYER'] }) role!: string;
  @ApiProperty({
    enum: ['PENDING_VERIFICATION', 'VERIFIED', 'SUSPENDED'],
    description:
      'Pending organisations may create sites and orders; their orders rest unseen until verification',
  })
  status!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) verifiedAt!: string | null;
  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'When the current suspension began; null unless SUSPENDED',
  })
  suspendedAt!: string | null;
}

export class UserResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() email!: string;
  @ApiProperty({ enum: ['OWNER', 'MEMBER'] }) role!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) disabledAt!: string | null;
}

export class RegistrationResponse {
  @ApiProperty({ type: OrganisationResponse }) organisation!: OrganisationResponse;
  @ApiProperty({ type: UserResponse }) owner!: UserResponse;
  @ApiProperty({ type: CreatedApiKeyResponse, description: 'The first API key; its secret is shown once' })
  apiKey!: CreatedApiKeyResponse;
}

export class UserPageResponse {
  @ApiProperty({ type: [UserResponse] }) data!: UserResponse[];
  @ApiProperty({ nullable: true, type: String }) nextCursor!: string | null;
}
