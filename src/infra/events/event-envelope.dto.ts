import { IsIn, IsISO8601, IsNumberString, IsObject, IsString, IsUUID, MaxLength } from 'class-validator';
import { EVENT_TYPES, type EventType, type JsonObject } from './event-catalogue';

/** An outbox event as it travels through BullMQ; validated on arrival like any external input. */
export class EventEnvelope {
  @IsUUID()
  id!: string;

  @IsNumberString({ no_symbols: true })
  seq!: string;

  @IsIn(EVENT_TYPES)
  type!: EventType;

  @IsString()
  @MaxLength(32)
  aggregateType!: string;

  @IsString()
  @MaxLength(64)
  aggregateId!: string;

  @IsISO8601({ strict: true })
  occurredAt!: string;

  @IsObject()
  payload!: JsonObject;
}
