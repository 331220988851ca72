import { DataCipher } from '@/infra/crypto/data-cipher';
import { Injectable, Logger } from '@nestjs/common';
import { Transactional } from '@nestjs-cls/transactional';
import { Webhook } from 'standardwebhooks';
import { Clock } from '@/infra/clock/clock';
import { SystemClock } from '@/infra/clock/system-clock';
import { AppConfig } from '@/infra/config/app-config';
import { isDelivered, retryDelayMs } from './domain/webhook-rules';
import { secretContext } from './domain/webhook-rules';
import { SafeWebhookClient } from './safe-webhook-client';
import { WebhooksRepository, type AttemptOutcome } from './webhooks.repository';

const USER_AGENT = 'ComputeExchange-Webhooks/1';

/** What the processor does next: nothing, or throw so BullMQ retries with the webhook backoff. */
export type AttemptResult = 'done' | 'retry';

/** One signed HTTP attempt of one delivery, logged with its outcome. */
@Injectable()
export class WebhookDeliveryService {
  private readonly logger = new Logger(WebhookDeliveryService.name);

  constructor(
    private readonly webhooks: WebhooksRepository,
    private readonly client: SafeWebhookClient,
    private readonly cipher: DataCipher,
    private readonly clock: Clock,
    private readonly config: AppConfig,
    // Receivers check webhook-timestamp against their own wall clock, so signing never uses a moved test clock.
    private readonly wallClock: SystemClock,
  ) {}

  /**
   * `tries` is this job's attempt (1-based) and `maxTries` its limit: when they meet a failure
   * is final, otherwise BullMQ retries after retryDelayMs(tries).
   */
  async attemptDelivery(
    deliveryId: string,
    run: number,
    tries: number,
    maxTries: number,
  ): Promise<AttemptResult> {
    const lastAttempt = tries >= maxTries;
    const delivery = await this.webhooks.systemFindDeliveryToSend(deliveryId);
    // Deleted with its endpoint, finished, or replayed since this job was queued.
    if (!delivery || delivery.status !== 'PENDING' || delivery.run !== run) return 'done';
    if (!delivery.endpoint.enabled) {
      await this.webhooks.systemFailDelivery(deliveryId, run, 'endpoint disabled', this.clock.now());
      return 'done';
    }
    const startedAt = this.clock.now();
    const signedAt = this.wallClock.now();
    const headers = {
      'content-type': 'application/json',
      'user-agent': USER_AGENT,
      'webhook-id': delivery.eventId,
      'webhook-timestamp': String(Math.floor(signedAt.getTime() / 1000)),
      'webhook-signature': new Webhook(
        this.cipher.decrypt(delivery.endpoint.secret, secretContext(delivery.organisationId)),
      ).sign(delivery.eventId, signedAt, delivery.body),
    };
    // A duration, not a time of day: the monotonic timer, not the Clock.
    const started = performance.now();
    let responseStatus: number | null = null;
    let error: string | null = null;
    try {
      responseStatus = (await this.client.post(delivery.endpoint.url, headers, delivery.body)).status;
    } catch (failure) {
      error = (failure as Error).message.slice(0, 500);
    }
    const durationMs = Math.round(performance.now() - started);
    const succeeded = isDelivered(responseStatus ?? undefined);
    if (!succeeded && error === null) error = `answered ${responseStatus}`;
    const attempt = delivery.attempts + 1;
    const final = succeeded || lastAttempt;
    await this.record(deliveryId, {
      run,
      attempt,
      startedAt,
      durationMs,
      responseStatus,
      error,
      succeeded,
      status: succeeded ? 'SUCCEEDED' : lastAttempt ? 'FAILED' : 'PENDING',
      nextAttemptAt: final
        ? null
        : new Date(startedAt.getTime() + retryDelayMs(tries, this.config.env.WEBHOOK_RETRY_BASE_MS)),
    });
    if (!succeeded) this.logger.warn(`webhook delivery ${deliveryId} attempt ${attempt} failed: ${error}`);
    return final ? 'done' : 'retry';
  }

  @Transactional()
  private async record(deliveryId: string, outcome: AttemptOutcome): Promise<void> {
    await this.webhooks.systemRecordAttempt(deliveryId, outcome, this.clock.now());
  }
}
