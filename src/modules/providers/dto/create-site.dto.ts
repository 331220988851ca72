import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { UptimeTier } from '@/generated/prisma/enums';
import { IsDivisionCode, IsSafeText } from '@/infra/http/field-validators';

const trim = ({ value }: { value: unknown }): unknown => (typeof value === 'string' ? value.trim() : value);

export const UPTIME_TIERS = Object.values(UptimeTier);

export class CreateSiteDto {
  @ApiProperty({
    example: 'Gui’an hall 2',
    minLength: 1,
    maxLength: 120,
    description: 'Unique per organisation; trimmed',
  })
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(120)
  @IsSafeText()
  name!: string;

  @ApiProperty({ example: '520000', description: 'GB/T 2260 province code (see GET /v1/provinces)' })
  @IsDivisionCode()
  provinceCode!: string;

  @ApiProperty({ example: '520100', description: 'GB/T 2260 city code; must be a city of provinceCode' })
  @IsDivisionCode()
  cityCode!: string;

  @ApiProperty({ enum: UPTIME_TIERS, description: 'Uptime Institute tier of the facility' })
  @IsIn(UPTIME_TIERS)
  uptimeTier!: UptimeTier;

  @ApiPropertyOptional({ maxLength: 2000, description: 'Free text for the provider’s own use; never public' })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  @IsSafeText({ multiline: true })
  notes?: string;
}
