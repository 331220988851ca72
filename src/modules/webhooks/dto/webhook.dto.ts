import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  MaxLength,
} from 'class-validator';
import { PageQuery } from '@/infra/pagination/page';
import { EVENT_TYPES } from '@/infra/events/event-catalogue';

export const DELIVERY_STATUSES = ['PENDING', 'SUCCEEDED', 'FAILED'] as const;

export class CreateWebhookDto {
  @ApiProperty({
    example: 'https://hooks.example.com/compute-exchange',
    description:
      'http(s) URL whose host resolves to public addresses only (no loopback, private, link-local…)',
  })
  @IsString()
  @MaxLength(2048)
  url!: string;

  @ApiPropertyOptional({ example: 'Ops dashboard', maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string;

  @ApiPropertyOptional({
    enum: EVENT_TYPES,
    isArray: true,
    description: 'Event types to deliver; omitted or empty means every type the organisation may see',
  })
  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(EVENT_TYPES.length)
  @IsIn(EVENT_TYPES, { each: true })
  eventTypes?: string[];
}

export class UpdateWebhookDto {
  @ApiPropertyOptional({ example: 'https://hooks.example.com/v2' })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  url?: string;

  @ApiPropertyOptional({ nullable: true, type: String, maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  description?: string | null;

  @ApiPropertyOptional({ enum: EVENT_TYPES, isArray: true })
  @IsOptional()
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(EVENT_TYPES.length)
  @IsIn(EVENT_TYPES, { each: true })
  eventTypes?: string[];

  @ApiPropertyOptional({ description: 'A disabled endpoint gets no new deliveries; pending ones fail' })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

export class WebhookResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'https://hooks.example.com/compute-exchange' }) url!: string;
  @ApiProperty({ nullable: true, type: String }) description!: string | null;
  @ApiProperty({ enum: EVENT_TYPES, isArray: true, description: 'Empty: every type' }) eventTypes!: string[];
  @ApiProperty() enabled!: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class CreatedWebhookResponse extends WebhookResponse {
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    description:
      'Signing secret (Standard Webhooks); shown only in this response. Null in an idempotent replay ' +
      '(`Idempotent-Replayed: true`): the secret is never stored with the replayable answer.',
  })
  secret!: string | null;
}

export class WebhookPageResponse {
  @ApiProperty({ type: [WebhookResponse] }) data!: WebhookResponse[];
  @ApiProperty({ nullable: true, type: String, description: 'Null on the last page' }) nextCursor!:
    string | null;
}

export class DeliveryAttemptResponse {
  @ApiProperty({ example: 1, description: '1-based over the delivery’s life' }) attempt!: number;
  @ApiProperty({ example: 0, description: 'Replays start a new run' }) run!: number;
  @ApiProperty({ format: 'date-time' }) startedAt!: string;
  @ApiProperty({ example: 120 }) durationMs!: number;
  @ApiProperty({ nullable: true, type: Number, example: 200 }) responseStatus!: number | null;
  @ApiProperty({ nullable: true, type: String, example: null }) error!: string | null;
  @ApiProperty() succeeded!: boolean;
}

export class DeliveryResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ format: 'uuid', description: 'The event id, sent as the webhook-id header' })
  eventId!: string;
  @ApiProperty({ example: '1042' }) eventSeq!: string;
  @ApiProperty({ enum: EVENT_TYPES }) eventType!: string;
  @ApiProperty({ enum: DELIVERY_STATUSES }) status!: string;
  @ApiProperty({ example: 1 }) attempts!: number;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) lastAttemptAt!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'While PENDING' })
  nextAttemptAt!: string | null;
  @ApiProperty({ nullable: true, type: Number }) lastResponseStatus!: number | null;
  @ApiProperty({ nullable: true, type: String }) lastError!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ type: [DeliveryAttemptResponse], description: 'The latest 20 attempts, newest first' })
  attemptLog!: DeliveryAttemptResponse[];
}

export class DeliveryPageResponse {
  @ApiProperty({ type: [DeliveryResponse] }) data!: DeliveryResponse[];
  @ApiProperty({ nullable: true, type: String, description: 'Null on the last page' }) nextCursor!:
    string | null;
}

export class ListDeliveriesQuery extends PageQuery {
  @ApiPropertyOptional({ enum: DELIVERY_STATUSES })
  @IsOptional()
  @IsIn(DELIVERY_STATUSES)
  status?: (typeof DELIVERY_STATUSES)[number];
}
