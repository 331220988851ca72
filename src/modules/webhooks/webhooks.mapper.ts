import type { DeliveryResponse, WebhookResponse } from './dto/webhook.dto';
import type { DeliveryRecord, EndpointRecord } from './webhooks.repository';

/** Webhook rows to API shapes. */
export const WebhooksMapper = {
  endpoint(row: EndpointRecord): WebhookResponse {
    return {
      id: row.id,
      url: row.url,
      description: row.description,
      eventTypes: row.eventTypes,
      enabled: row.enabled,
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    };
  },

  delivery(row: DeliveryRecord): DeliveryResponse {
    return {
      id: row.id,
      eventId: row.eventId,
      eventSeq: row.eventSeq.toString(),
      eventType: row.eventType,
      status: row.status,
      attempts: row.attempts,
      lastAttemptAt: row.lastAttemptAt?.toISOString() ?? null,
      nextAttemptAt: row.nextAttemptAt?.toISOString() ?? null,
      lastResponseStatus: row.lastResponseStatus,
      lastError: row.lastError,
      createdAt: row.createdAt.toISOString(),
      attemptLog: row.attemptLog.map((a) => ({
        attempt: a.attempt,
        run: a.run,
        startedAt: a.startedAt.toISOString(),
        durationMs: a.durationMs,
        responseStatus: a.responseStatus,
        error: a.error,
        succeeded: a.succeeded,
      })),
    };
  },
};
