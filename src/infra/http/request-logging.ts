import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Options } from 'pino-http';
import type { AppConfig } from '@/infra/config/app-config';

/** Query parameters that carry a credential (stream tickets): never written to logs. */
const SECRET_QUERY_PARAMS = new Set(['ticket']);
export const REDACTED = '[REDACTED]';

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' ')).toLowerCase();
  } catch {
    return name.toLowerCase();
  }
}

/** The URL with the value of every credential-bearing query parameter replaced, for logs. */
export function redactUrl(url: string): string {
  const start = url.indexOf('?');
  if (start < 0) return url;
  const pairs = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      const name = equals < 0 ? pair : pair.slice(0, equals);
      return SECRET_QUERY_PARAMS.has(decodedName(name)) ? `${name}=${REDACTED}` : pair;
    });
  return `${url.slice(0, start + 1)}${pairs.join('&')}`;
}

/** Runs after pino's standard request serializer: the URL and any parsed query, redacted. */
function redactRequest<T extends { url?: unknown; query?: unknown }>(request: T): T {
  if (typeof request.url === 'string') request.url = redactUrl(request.url);
  if (request.query !== null && typeof request.query === 'object') {
    const query = { ...(request.query as Record<string, unknown>) };
    for (const name of Object.keys(query)) {
      if (SECRET_QUERY_PARAMS.has(name.toLowerCase())) query[name] = REDACTED;
    }
    request.query = query;
  }
  return request;
}

/**
 * pino-http's options, from which nestjs-pino builds the application's logger (with pino-http's
 * request, response and error serializers): no credential, in headers or in the query string.
 */
export function requestLogOptions(config: AppConfig): Options {
  return {
    level: config.env.LOG_LEVEL,
    redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]'],
    // Stream tickets travel in the query string: a browser's EventSource sends no headers.
    serializers: { req: redactRequest },
  };
}

/** Routes whose requests are not logged: probes and scrapes. */
const UNLOGGED_URLS = new Set(['/health/live', '/metrics']);

/**
 * The line that ends a request, at `info`, from Fastify's onResponse hook (http-app.ts), in
 * pino-http's shape. Nothing is built per request unless `info` is enabled: pino-http's
 * middleware made two child loggers per request, serialising and redacting the request at
 * every log level, and bound them in an AsyncLocalStorage (docs/ARCHITECTURE.md).
 */
export function logRequestEnd(logger: Logger, request: FastifyRequest, reply: FastifyReply): void {
  if (!logger.isLevelEnabled('info') || UNLOGGED_URLS.has(request.url)) return;
  const fields = {
    req: request.raw,
    res: reply.raw,
    responseTime: Math.round(reply.elapsedTime),
  };
  if (reply.statusCode >= 500) {
    logger.info(
      { ...fields, err: new Error(`failed with status code ${reply.statusCode}`) },
      'request errored',
    );
  } else {
    logger.info(fields, 'request completed');
  }
}
