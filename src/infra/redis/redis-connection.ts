/** Where and how to connect; assignable to both ioredis's and BullMQ's option types. */
export interface RedisEndpoint {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls?: Record<string, never>;
  /** ioredis waits this long for a closing socket before destroying it (default 2 s). */
  disconnectTimeout: number;
}

/** Connection options from a redis:// or rediss:// URL (host, port, credentials, db, TLS). */
export function redisOptionsFromUrl(url: string): RedisEndpoint {
  const parsed = new URL(url);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    db: Number.isInteger(db) ? db : 0,
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    // Shutdown has a 10 s budget; a socket that never connected should not hold it for 2 s.
    disconnectTimeout: 200,
  };
}

/** `host:port` for messages; never includes credentials. */
export function redisAddress(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname || '127.0.0.1'}:${parsed.port || '6379'}`;
}
