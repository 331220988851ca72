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

/** pino-http's options for the request log: no credential, in headers or in the query string. */
export function requestLogOptions(config: AppConfig): Options {
  return {
    level: config.env.LOG_LEVEL,
    // Fastify's request id, copied onto the raw request by genRequestId.
    genReqId: (req) => (req as { id?: string }).id ?? 'unknown',
    redact: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["x-api-key"]'],
    // Stream tickets travel in the query string: a browser's EventSource sends no headers.
    serializers: { req: redactRequest },
    autoLogging: { ignore: (req) => req.url === '/health/live' || req.url === '/metrics' },
  };
}
