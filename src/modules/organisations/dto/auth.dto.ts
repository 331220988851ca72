import { ApiProperty } from '@nestjs/swagger';
import { IsEmail, IsString, MaxLength } from 'class-validator';

export class LoginDto {
  @ApiProperty({ example: 'ops@guizhou-dc.example' })
  @IsEmail()
  @MaxLength(320)
  email!: string;

  @ApiProperty()
  @IsString()
  @MaxLength(1024)
  password!: string;
}

export class RefreshDto {
  @ApiProperty({ description: 'The refresh token from login or the previous refresh' })
  @IsString()
  @MaxLength(128)
  refreshToken!: string;
}

export class SessionResponse {
  @ApiProperty({ description: 'Bearer token for the API, valid 15 minutes' })
  accessToken!: string;

  @ApiProperty({ example: 900 })
  expiresIn!: number;

  @ApiProperty({
    description: 'Single use: each refresh returns a new one; reusing an old one ends the session',
  })
  refreshToken!: string;
}
