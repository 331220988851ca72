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
}
