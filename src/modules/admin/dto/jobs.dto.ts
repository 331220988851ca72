import { ApiProperty, ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
import { QUEUE, type QueueName } from '@/infra/queues/job-catalogue';
import { PageQuery } from '@/infra/pagination/page';

export const QUEUE_NAMES = Object.values(QUEUE);

/** How deep into a failed set a page may start: BullMQ pages by offset, so this bounds the read. */
export const MAX_FAILED_OFFSET = 10_000;

export class FailedJobsQuery extends PickType(PageQuery, ['limit'] as const) {
  @ApiPropertyOptional({ enum: QUEUE_NAMES, description: 'One queue; every queue when absent' })
  @IsOptional()
  @IsIn(QUEUE_NAMES)
  queue?: QueueName;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_FAILED_OFFSET,
    default: 0,
    description: 'Jobs to skip, most recently failed first (the previous page’s `nextOffset`)',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_FAILED_OFFSET)
  offset?: number;
}

export class FailedJobResponse {
  @ApiProperty({ enum: QUEUE_NAMES }) queue!: string;
  @ApiProperty({ example: 'run-0193a0f6-…' }) id!: string;
  @ApiProperty({ example: 'matching.run' }) name!: string;
  @ApiProperty({ nullable: true, type: String, description: 'The error of the last attempt' })
  failedReason!: string | null;
  @ApiProperty() attemptsMade!: number;
  @ApiProperty({ description: 'Attempts the job is allowed (its catalogue options)' }) attempts!: number;
  @ApiProperty({ format: 'date-time', description: 'When the job was added' }) createdAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) processedAt!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) failedAt!: string | null;
}

export class FailedJobPageResponse {
  @ApiProperty({ type: [FailedJobResponse] }) data!: FailedJobResponse[];
  @ApiProperty({ description: 'Failed jobs in the queue(s) asked for' }) total!: number;
  @ApiProperty({ nullable: true, type: Number, description: 'Offset of the next page; null on the last' })
  nextOffset!: number | null;
}

export class RetriedJobResponse {
  @ApiProperty({ enum: QUEUE_NAMES }) queue!: string;
  @ApiProperty() id!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['waiting', 'delayed', 'prioritized'], description: 'Where the retry put it' })
  state!: string;
}
