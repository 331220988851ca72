import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';

export class StreamQuery {
  @ApiPropertyOptional({
    example: '1042',
    description:
      'Resume after this event id, for clients that cannot send the `Last-Event-ID` header (the header wins). ' +
      '`0` replays every retained event.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  lastEventId?: string;

  @ApiPropertyOptional({
    example: 'cxst_Vb1cM4o3l0h8a2ZrS0k9yWq7Jt5Rn6Pd1Xe3Uf8Gi2A',
    description:
      'A ticket from `POST /v1/events/stream-tickets`, for clients that cannot send the Authorization ' +
      'header (a browser’s `EventSource`). Single use; ignored when the header is sent.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  ticket?: string;
}
