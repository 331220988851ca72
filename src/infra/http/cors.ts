import type { EnvironmentVariables } from '@/config/app-config';

/** What `app.enableCors` needs of our CORS policy (a subset of @fastify/cors's options). */
export interface CorsPolicy {
  origin: Array<string | RegExp> | false;
  methods: string[];
  allowedHeaders: string[];
  exposedHeaders: string[];
  maxAge: number;
}

// Any port on loopback: a frontend dev server (Vite, Next, …) on the developer's own machine.
const LOOPBACK_ORIGINS = [
  /^http:\/\/localhost(:\d{1,5})?$/,
  /^http:\/\/127\.0\.0\.1(:\d{1,5})?$/,
  /^http:\/\/\[::1\](:\d{1,5})?$/,
];

/**
 * Which origins may call the API from a browser (docs/BROWSER.md): CORS_ORIGINS when set;
 * otherwise loopback origins outside production, and none in production.
 */
export function corsOrigins(
  env: Pick<EnvironmentVariables, 'CORS_ORIGINS' | 'NODE_ENV'>,
): Array<string | RegExp> | false {
  const configured = env.CORS_ORIGINS.split(',').filter((origin) => origin.length > 0);
  if (configured.length > 0) return configured;
  return env.NODE_ENV === 'production' ? false : [...LOOPBACK_ORIGINS];
}

/** The whole policy: every method a route uses, the headers we read, and those we answer with. */
export function corsPolicy(env: Pick<EnvironmentVariables, 'CORS_ORIGINS' | 'NODE_ENV'>): CorsPolicy {
  return {
    origin: corsOrigins(env),
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-request-id', 'last-event-id'],
    // Without these a browser hides them from the page: paging, retries, replays, downloads.
    exposedHeaders: [
      'x-request-id',
      'x-next-cursor',
      'retry-after',
      'idempotent-replayed',
      'content-disposition',
      'x-ratelimit-limit',
      'x-ratelimit-remaining',
      'x-ratelimit-reset',
    ],
    maxAge: 600,
  };
}
