import { ApiProperty } from '@nestjs/swagger';
import { ReliabilityResponse } from './reliability.response';

/** A provider as public data shows it: display name and reliability score, never an id. */
export class PublicProviderResponse {
  @ApiProperty({ example: 'Guizhou Compute Co.', description: 'Public display name (no ids are shown)' })
  name!: string;
  @ApiProperty({
    type: ReliabilityResponse,
    description: "The provider's reliability score and its components (docs/RELIABILITY.md)",
  })
  reliability!: ReliabilityResponse;
}
