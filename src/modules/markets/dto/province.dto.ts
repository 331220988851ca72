import { ApiProperty } from '@nestjs/swagger';

export class DivisionResponse {
  @ApiProperty({ example: '520000', description: 'GB/T 2260 code' }) code!: string;
  @ApiProperty({ example: '贵州省' }) nameZh!: string;
  @ApiProperty({ example: 'Guizhou' }) namePinyin!: string;
}

export class ProvinceResponse extends DivisionResponse {
  @ApiProperty({ type: [DivisionResponse], description: 'Prefecture-level cities known to the exchange' })
  cities!: DivisionResponse[];
}

export class ProvinceListResponse {
  @ApiProperty({ type: [ProvinceResponse] }) data!: ProvinceResponse[];
}
