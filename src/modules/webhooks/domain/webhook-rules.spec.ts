import { JOBS } from '@/infra/queues/job-catalogue';
import { Webhook } from 'standardwebhooks';
import { isDelivered, newWebhookSecret, retryDelayMs, WEBHOOK_ATTEMPTS } from './webhook-rules';

describe('webhook rules', () => {
  it('doubles the retry delay from the base', () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, 30_000))).toEqual([30_000, 60_000, 120_000, 240_000]);
    const total = Array.from({ length: WEBHOOK_ATTEMPTS - 1 }, (_, i) => retryDelayMs(i + 1, 30_000)).reduce(
      (a, b) => a + b,
    );
    expect(total / 3_600_000).toBeCloseTo(17.05, 1);
  });

  it('makes secrets the standardwebhooks library signs and verifies with', () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const hook = new Webhook(secret);
    const at = new Date('2026-12-01T00:00:00Z');
    const signature = hook.sign('msg_1', at, '{"a":1}');
    expect(signature).toMatch(/^v1,/);
    expect(newWebhookSecret()).not.toBe(secret);
  });

  it('counts 2xx only as delivered', () => {
    expect([200, 204, 299].every(isDelivered)).toBe(true);
    expect([undefined, 199, 301, 400, 500].some(isDelivered)).toBe(false);
  });
});

describe('the webhooks.deliver job', () => {
  it('has as many attempts as the rules count on', () => {
    expect(JOBS['webhooks.deliver'].options.attempts).toBe(WEBHOOK_ATTEMPTS);
  });
});
