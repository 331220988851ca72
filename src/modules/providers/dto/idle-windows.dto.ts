import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import { MAX_IDLE_WINDOWS, MAX_RECLAIM_NOTICE_MINUTES, WEEKDAYS, type Weekday } from '../domain/idle-windows';

export class WeeklyWindowDto {
  @ApiProperty({
    enum: WEEKDAYS,
    isArray: true,
    example: ['MON', 'TUE', 'WED', 'THU'],
    description: 'Days a window starts on, in the time zone',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(7)
  @IsIn(WEEKDAYS, { each: true })
  days!: Weekday[];

  @ApiProperty({ example: '20:00', description: 'Local start, HH:MM' })
  @IsString()
  @Matches(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'start must be HH:MM' })
  start!: string;

  @ApiProperty({
    example: '08:00',
    description:
      'Local end, HH:MM or 24:00; at or before start, the window ends the next day. Not equal to start',
  })
  @IsString()
  @Matches(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, { message: 'end must be HH:MM or 24:00' })
  end!: string;
}

/** Recurring idle windows of an offer (docs/LEASES.md "Idle windows"). */
export class IdleWindowsDto {
  @ApiProperty({ example: 'Asia/Shanghai', description: 'IANA time zone of the site' })
  @IsString()
  @MaxLength(64)
  timeZone!: string;

  @ApiProperty({
    type: [WeeklyWindowDto],
    description: `1 to ${MAX_IDLE_WINDOWS} weekly windows; none may overlap`,
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_IDLE_WINDOWS)
  @ValidateNested({ each: true })
  @Type(() => WeeklyWindowDto)
  windows!: WeeklyWindowDto[];

  @ApiProperty({
    minimum: 1,
    maximum: MAX_RECLAIM_NOTICE_MINUTES,
    example: 60,
    description: 'Notice before you reclaim an interruptible lease, minutes; no penalty at that notice',
  })
  @IsInt()
  @Min(1)
  @Max(MAX_RECLAIM_NOTICE_MINUTES)
  reclaimNoticeMinutes!: number;
}
