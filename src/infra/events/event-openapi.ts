import { EVENT_TYPES, type EventType } from './event-catalogue';
import { EVENT_PAYLOAD_SCHEMAS } from './event-payload-schemas';

// The OpenAPI side of the event catalogue (docs/EVENTS.md): one envelope schema per type, their
// union for the live stream, and one webhook per type. Built from EVENT_TYPES, so a new type
// cannot be left out.

type Schema = Record<string, unknown>;

/** `bid.placed` -> `BidPlaced`, as npm run docs:events names the payload schemas. */
export function eventSchemaBase(type: EventType): string {
  return type
    .split(/[._]/)
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join('');
}

/** Component name of a type's envelope (`BidPlacedEvent`); its payload is `<Type>EventPayload`. */
export const eventEnvelopeSchemaName = (type: EventType): string => `${eventSchemaBase(type)}Event`;
export const eventPayloadSchemaName = (type: EventType): string => `${eventSchemaBase(type)}EventPayload`;

/** The union of every envelope, discriminated by `type`. */
export const EVENT_SCHEMA_NAME = 'Event';
export const EVENT_SCHEMA_REF = `#/components/schemas/${EVENT_SCHEMA_NAME}`;

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

const ENVELOPE_FIELDS: Record<string, Schema> = {
  id: {
    type: 'string',
    format: 'uuid',
    description: 'UUIDv7; stable across re-deliveries, so receivers deduplicate on it',
  },
  seq: {
    type: 'string',
    pattern: '^[0-9]+$',
    description: 'decimal string assigned at insert; orders events, but may commit out of order',
  },
  aggregateType: { type: 'string', description: 'the kind of object the event is about' },
  aggregateId: { type: 'string', description: 'the id of the object the event is about' },
  occurredAt: {
    type: 'string',
    format: 'date-time',
    description: "the exchange's clock when the event was recorded",
  },
};

function envelopeSchema(type: EventType): Schema {
  return {
    type: 'object',
    description: `The \`${type}\` event's envelope; \`payload\` is \`${eventPayloadSchemaName(type)}\`.`,
    required: ['id', 'seq', 'type', 'aggregateType', 'aggregateId', 'occurredAt', 'payload'],
    properties: {
      id: ENVELOPE_FIELDS.id,
      seq: ENVELOPE_FIELDS.seq,
      type: { type: 'string', enum: [type] },
      aggregateType: ENVELOPE_FIELDS.aggregateType,
      aggregateId: ENVELOPE_FIELDS.aggregateId,
      occurredAt: ENVELOPE_FIELDS.occurredAt,
      payload: ref(eventPayloadSchemaName(type)),
    },
  };
}

/** Components: every payload, every envelope, and their union `Event`. */
export function eventSchemas(): Record<string, Schema> {
  const envelopes = Object.fromEntries(
    EVENT_TYPES.map((type) => [eventEnvelopeSchemaName(type), envelopeSchema(type)]),
  );
  return {
    ...EVENT_PAYLOAD_SCHEMAS,
    ...envelopes,
    [EVENT_SCHEMA_NAME]: {
      description: 'An event envelope (docs/EVENTS.md), one member per event type, told apart by `type`.',
      oneOf: EVENT_TYPES.map((type) => ref(eventEnvelopeSchemaName(type))),
      discriminator: {
        propertyName: 'type',
        mapping: Object.fromEntries(
          EVENT_TYPES.map((type) => [type, `#/components/schemas/${eventEnvelopeSchemaName(type)}`]),
        ),
      },
    },
  };
}

const SIGNATURE_HEADERS = [
  ['webhook-id', 'The event id: the same on every retry and replay, so deduplicate on it'],
  ['webhook-timestamp', 'Unix seconds of this attempt'],
  ['webhook-signature', '`v1,<base64 HMAC-SHA256 of "id.timestamp.body">` under the endpoint’s secret'],
] as const;

/** One webhook per event type: what the exchange POSTs to a subscribed endpoint. */
export function eventWebhooks(): Record<string, Schema> {
  return Object.fromEntries(
    EVENT_TYPES.map((type) => {
      const payload =
        EVENT_PAYLOAD_SCHEMAS[eventPayloadSchemaName(type) as keyof typeof EVENT_PAYLOAD_SCHEMAS];
      return [
        type,
        {
          post: {
            operationId: `webhook${eventSchemaBase(type)}`,
            tags: ['webhooks'],
            summary: `\`${type}\` to your endpoint`,
            description:
              `${payload.description}. Sent to each enabled endpoint subscribed to it, signed in the ` +
              'Standard Webhooks format (docs/EVENTS.md, "Webhooks").',
            security: [],
            parameters: SIGNATURE_HEADERS.map(([name, description]) => ({
              name,
              in: 'header',
              required: true,
              description,
              schema: { type: 'string' },
            })),
            requestBody: {
              required: true,
              content: { 'application/json': { schema: ref(eventEnvelopeSchemaName(type)) } },
            },
            responses: {
              '2XX': { description: `Received, within \`WEBHOOK_TIMEOUT_MS\`` },
              '4XX': {
                description: 'A failed attempt, retried with backoff, as is any other non-2xx answer',
              },
            },
          },
        },
      ];
    }),
  );
}
