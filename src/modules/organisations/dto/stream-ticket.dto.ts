import { ApiProperty } from '@nestjs/swagger';

export class StreamTicketResponse {
  @ApiProperty({
    example: 'cxst_Vb1cM4o3l0h8a2ZrS0k9yWq7Jt5Rn6Pd1Xe3Uf8Gi2A',
    description:
      'Opaque; open `GET /v1/events/stream?ticket=<ticket>` with it. Single use, and only for the stream.',
  })
  ticket!: string;

  @ApiProperty({ example: 60, description: 'Seconds within which the ticket must be used' })
  expiresIn!: number;
}
