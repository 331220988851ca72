import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsDefined,
  IsEmail,
  IsIn,
  IsObject,
  IsString,
  Matches,
  MaxLength,
  ValidateNested,
} from 'class-validator';
import { IsSafeText } from '@/infra/http/field-validators';

export class OwnerCredentialsDto {
  @ApiProperty({ example: 'ops@guizhou-dc.example', maxLength: 320 })
  @IsEmail({}, { message: 'owner.email must be an email address' })
  @MaxLength(320)
  email!: string;

  @ApiProperty({ minLength: 12, maxLength: 256, description: '12-256 characters' })
  @IsString()
  @MaxLength(1024)
  password!: string;
}

export class RegisterOrganisationDto {
  @ApiProperty({ example: 'Guizhou Mountain DC', maxLength: 200 })
  @IsString()
  @Matches(/\S/, { message: 'name must contain a visible character' })
  @IsSafeText()
  @MaxLength(200)
  name!: string;

  @ApiProperty({ enum: ['PROVIDER', 'BUYER'] })
  @IsIn(['PROVIDER', 'BUYER'])
  role!: 'PROVIDER' | 'BUYER';

  @ApiProperty({ type: OwnerCredentialsDto })
  // ValidateNested alone skips an absent value, and the service would read owner.password.
  @IsDefined()
  @IsObject()
  @ValidateNested()
  @Type(() => OwnerCredentialsDto)
  owner!: OwnerCredentialsDto;
}
