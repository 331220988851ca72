import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { toErrorBody } from '@/infra/http/error-body';
import { QUEUE } from '@/infra/queues/job-catalogue';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { QUEUE_DASHBOARD_PATH, QueueDashboardAuthService } from './queue-dashboard-auth.service';

/** The request's path as the router may have read it: percent-decoded, repeated slashes merged. */
function normalisedPath(url: string): string {
  const path = url.split('?')[0] ?? '';
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    // Malformed escapes: judge the raw path (the router refuses it anyway).
  }
  return decoded.replace(/\/{2,}/g, '/');
}

/** Whether the request is for the dashboard: its pages, API and static assets, matched or not. */
export function isQueueDashboardRequest(request: Pick<FastifyRequest, 'url' | 'routeOptions'>): boolean {
  const route = request.routeOptions.url;
  if (
    route !== undefined &&
    (route === QUEUE_DASHBOARD_PATH || route.startsWith(`${QUEUE_DASHBOARD_PATH}/`))
  ) {
    return true;
  }
  const path = normalisedPath(request.url).toLowerCase();
  return path === QUEUE_DASHBOARD_PATH || path.startsWith(`${QUEUE_DASHBOARD_PATH}/`);
}

/**
 * Serves the BullMQ dashboard (bull-board) for every queue at /admin/queues, read-only: job
 * mutations go through the audited /admin/jobs routes. Nest guards do not run for these Fastify
 * routes, so an onRequest hook on the whole instance authorises every path under the prefix,
 * assets and unknown paths included, before routing's handler runs: anonymous 401, an
 * organisation's key or session 403, a platform admin (bearer or session cookie) through.
 */
export async function mountQueueDashboard(app: NestFastifyApplication): Promise<void> {
  const producer = app.get(JobProducer);
  const dashboardAuth = app.get(QueueDashboardAuthService);
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', async (request, reply) => {
    // CORS preflights carry no credential and are answered by the CORS hook without a body.
    if (request.method === 'OPTIONS' || !isQueueDashboardRequest(request)) return;
    try {
      await dashboardAuth.authorise(
        { authorization: request.headers.authorization, cookie: request.headers.cookie },
        request.ip,
      );
    } catch (error) {
      const body = toErrorBody(error, String(request.id));
      const retryAfter = body.details?.retryAfterSeconds;
      if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
      return reply
        .status(body.statusCode)
        .header('content-type', 'application/json; charset=utf-8')
        .send(body);
    }
  });

  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    queues: Object.values(QUEUE).map(
      (name) => new BullMQAdapter(producer.queue(name), { readOnlyMode: true }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Compute Exchange' } },
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: QUEUE_DASHBOARD_PATH });
}
