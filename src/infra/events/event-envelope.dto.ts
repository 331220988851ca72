import { IsIn, IsISO8601, IsNumberString, IsObject, IsString, IsUUID, MaxLength } from 'class-validator';
import { EVENT_TYPES, type EventPayloads, type EventType, type JsonObject } from './event-catalogue';

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

/** An envelope whose payload is its type's: narrowing on `type` narrows the payload. */
export type TypedEventEnvelope<T extends EventType = EventType> = {
  [K in T]: Omit<EventEnvelope, 'type' | 'payload'> & { type: K; payload: EventPayloads[K] };
}[T];

/**
 * The validated envelope with its payload typed. The payload is trusted, not re-checked: only the
 * outbox writes it, from a NewEvent the compiler held to EventPayloads (event-catalogue.ts).
 */
export function typedEnvelope(envelope: EventEnvelope): TypedEventEnvelope {
  return envelope as unknown as TypedEventEnvelope;
}
