import { ApiProperty } from '@nestjs/swagger';
import { UPTIME_TIERS } from './create-site.dto';

export class SiteResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'Gui’an hall 2' }) name!: string;
  @ApiProperty({ example: '520000' }) provinceCode!: string;
  @ApiProperty({ example: '520100' }) cityCode!: string;
  @ApiProperty({ enum: UPTIME_TIERS }) uptimeTier!: string;
  @ApiProperty({ nullable: true, type: String }) notes!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class SitePageResponse {
  @ApiProperty({ type: [SiteResponse] }) data!: SiteResponse[];
  @ApiProperty({ nullable: true, type: String, description: 'Null on the last page' }) nextCursor!:
    string | null;
}
