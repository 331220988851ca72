import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  validateSync,
} from 'class-validator';
import { isTimeZone } from '@/shared/time-zone';

const toInt = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
const toBool = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  return value;
};
const emptyToUndefined = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/**
 * Every environment variable the exchange reads, with its local default.
 * Secrets have no default: outside production a missing one is generated once and stored
 * (see secrets.ts); in production a missing one stops the boot.
 */
export class EnvironmentVariables {
  /** `production` requires the three secrets and refuses the test-only settings and placeholder payment and seller details. */
  @IsIn(['development', 'test', 'production'])
  NODE_ENV: 'development' | 'test' | 'production' = 'development';

  /** Interface the HTTP server binds (`0.0.0.0` in containers). */
  @IsString()
  HOST = '127.0.0.1';

  /** HTTP port: the API, `/docs`, `/health/*` and `/metrics`. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  /** PostgreSQL, the source of truth; the database is created at start if the server lacks it. */
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgresql:// URL' })
  DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/compute_exchange';

  /** Connections in each process's pool; unset, one per worker job slot plus the API's share (database-pool.ts). */
  @Transform((params) => toInt({ value: emptyToUndefined(params) }))
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(500)
  DATABASE_POOL_MAX?: number;

  /** Requests an API process lets wait for a database connection before it answers the next 503 at once; unset, 8 per connection (database-pool.ts). */
  @Transform((params) => toInt({ value: emptyToUndefined(params) }))
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(100_000)
  DATABASE_QUEUE_MAX?: number;

  /** How long a pool keeps an idle database connection before closing it; 0 keeps it until the process stops (a fresh backend's first statements are slow). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(86_400_000)
  DATABASE_POOL_IDLE_TIMEOUT_MS = 0;

  /** How long a transaction may wait for a connection (a fresh one on a loaded machine takes seconds). */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(120_000)
  DATABASE_TX_MAX_WAIT_MS = 10_000;

  /** How long a transaction may run before it is rolled back. */
  @Transform(toInt)
  @IsInt()
  @Min(1_000)
  @Max(600_000)
  DATABASE_TX_TIMEOUT_MS = 15_000;

  /** Most order placements one group commit carries; those arriving while it commits wait for the next (1: one transaction per order). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000)
  PLACEMENT_BATCH_MAX = 128;

  /**
   * Most group commits of placements one API process runs at once (docs/ARCHITECTURE.md "Group
   * commit of placements"). One commit carries everything while it keeps up; another starts
   * only when a full batch waits of orders whose organisations no commit in flight holds, so
   * under overload the batches share the database's cores instead of queueing behind one
   * backend (1: one commit at a time).
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(16)
  PLACEMENT_COMMITS_IN_FLIGHT = 2;

  /** Redis for queues, rate limits, idempotency locks and live events; credentials, db index and TLS (`rediss://`) allowed. */
  @Matches(/^rediss?:\/\/.+/, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  /** Prefix of every Redis key we write (BullMQ queues included). */
  @Matches(/^[A-Za-z0-9:_{}-]{1,64}$/)
  REDIS_PREFIX = 'cx';

  /** pino log level. */
  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' = 'info';

  /** Apply pending migrations (and create the database if missing) before starting. */
  @Transform(toBool)
  @IsBoolean()
  MIGRATE_ON_START = true;

  /** How long SIGTERM waits for active jobs before closing anyway. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(600_000)
  SHUTDOWN_GRACE_MS = 8_000;

  /** BullMQ job lock; a crashed worker's job is run again after it expires. */
  @Transform(toInt)
  @IsInt()
  @Min(1_000)
  @Max(600_000)
  JOB_LOCK_DURATION_MS = 30_000;

  /** How often workers look for stalled jobs. */
  @Transform(toInt)
  @IsInt()
  @Min(1_000)
  @Max(600_000)
  JOB_STALLED_INTERVAL_MS = 30_000;

  /** Stalls before a job fails (a failed settle job marks its lease NEEDS_ATTENTION). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(100)
  JOB_MAX_STALLED_COUNT = 2;

  /** Fallback poll of the outbox when no NOTIFY arrives. */
  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(600_000)
  OUTBOX_POLL_INTERVAL_MS = 1_000;

  /**
   * The least time between the starts of two relay passes in a worker (docs/EVENTS.md
   * "Guarantees"). An idle relay publishes at once; events committed while it ran less than this
   * ago wait for one pass together. 0: a pass as soon as one is asked for and the last has ended.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000)
  OUTBOX_RELAY_INTERVAL_MS = 20;

  /** How often the reconciler looks for work that Redis lost. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  RECONCILE_INTERVAL_MS = 60_000;

  /** A published event whose consumer has neither a job nor an inbox row after this is re-published. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(86_400_000)
  RECONCILE_STRANDED_AFTER_MS = 60_000;

  /** A matching run holds its market's lock this long unless it renews it (it does while alive). */
  @Transform(toInt)
  @IsInt()
  @Min(500)
  @Max(600_000)
  MATCHING_LOCK_TTL_MS = 15_000;

  /**
   * Threads that solve CALL markets' clearings, off the event loop (docs/MATCHING.md "How it is
   * solved"). 0 solves on the worker's main thread, with no time bound: for running from the
   * TypeScript sources (in-process tests), where no compiled thread script exists.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(16)
  MATCHING_SOLVE_THREADS = 1;

  /**
   * A clearing's solve that has not answered after this long is stopped and the clearing takes
   * the greedy allocation instead (docs/MATCHING.md "How it is solved"); the solver's own work
   * limits normally end it long before.
   */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(600_000)
  MATCHING_SOLVE_TIMEOUT_MS = 5_000;

  /**
   * The least time between the starts of two runs of one market in a worker, a CALL market's
   * clearings excepted (docs/MATCHING.md "Runs in the exchange"). A market idle for this long runs at once; orders
   * that arrive while it ran less than this ago wait for one run together, so a busy market runs
   * at most 1,000 / this times a second, with more orders per run. 0: a run as soon as one is
   * asked for and the last has ended.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000)
  MATCHING_RUN_INTERVAL_MS = 50;

  /** How often the matching sweep expires orders and re-runs every market with a live book. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  MATCHING_SWEEP_INTERVAL_MS = 30_000;

  /** Minutes a provider has to hand over access to a new lease before it terminates. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_440)
  LEASE_PROVISIONING_MINUTES = 15;

  /** How often the lease sweep ends due leases and terminates unprovisioned ones (backstop of delayed jobs). */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  LEASE_SWEEP_INTERVAL_MS = 30_000;

  /** Minutes after a pay-per-use period's end during which its usage may still be reported. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_440)
  SETTLEMENT_GRACE_MINUTES = 15;

  /**
   * Minutes after a period's evidence closes (its end + the grace) during which a provider may
   * dispute the buyer's SLO evidence; a period of a lease with an SLO settles after them (docs/SLO.md).
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_440)
  SLO_DISPUTE_WINDOW_MINUTES = 30;

  /** How often the settlement sweep looks for billing periods due. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  SETTLEMENT_SWEEP_INTERVAL_MS = 30_000;

  /** How often the statistics refresh recomputes its snapshot buckets (docs/STATS.md). */
  @Transform(toInt)
  @IsInt()
  @Min(1_000)
  @Max(86_400_000)
  STATS_REFRESH_INTERVAL_MS = 300_000;

  /** Complete hours each statistics refresh recomputes, so late data (fills, settlements) lands. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(720)
  STATS_REFRESH_HOURS = 48;

  /** Public market statistics show supply and prices only when at least this many providers are behind them. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100)
  STATS_MIN_PROVIDERS = 2;

  /** Price suggestion: the 24 h lease chance the suggested ask must reach, in percent. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100)
  PRICE_SUGGESTION_TARGET_PERCENT = 80;

  /** Price suggestion: fewest comparable offers behind a chance; fewer is "insufficient data". */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100_000)
  PRICE_SUGGESTION_MIN_SAMPLE = 20;

  /** Price suggestion: how far back comparable offers are taken from. */
  @Transform(toInt)
  @IsInt()
  @Min(2)
  @Max(365)
  PRICE_SUGGESTION_LOOKBACK_DAYS = 30;

  /** A comment line goes down every live event stream this often (proxies drop idle ones); streams re-read the outbox then too. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(300_000)
  SSE_HEARTBEAT_MS = 15_000;

  /** Live event streams one organisation may hold open at once, across all API processes. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000)
  SSE_MAX_STREAMS_PER_ORG = 5;

  /** A webhook delivery attempt gives up after this long (connect, send and response). */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(60_000)
  WEBHOOK_TIMEOUT_MS = 10_000;

  /** First retry delay of a failed webhook delivery; each later one doubles it. */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(3_600_000)
  WEBHOOK_RETRY_BASE_MS = 30_000;

  /**
   * Backstop pass of the webhook dispatcher (outbox events into deliveries); the relay's
   * announcement of each published batch wakes it sooner.
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  WEBHOOK_DISPATCH_INTERVAL_MS = 5_000;

  /**
   * Woken passes of the webhook dispatcher start at most this often per worker: a burst of
   * published batches costs one pass, at the price of delivering up to this much later.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10_000)
  WEBHOOK_DISPATCH_MIN_INTERVAL_MS = 250;

  /** Finished webhook deliveries, with their attempt log, are deleted after this many days. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3_650)
  WEBHOOK_DELIVERY_RETENTION_DAYS = 30;

  /**
   * Tests and local development: webhook URLs on loopback (127.0.0.0/8, ::1) pass the SSRF check,
   * so a receiver can run on this machine. Every other private range stays refused; refused in production.
   */
  @Transform(toBool)
  @IsBoolean()
  WEBHOOK_ALLOW_LOOPBACK = false;

  /** Bank account buyers pay top-ups into (manual bank transfer, confirmed by an admin); production refuses the placeholder. */
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  PAYMENT_BANK_BENEFICIARY = 'Compute Exchange Ltd. (set PAYMENT_BANK_BENEFICIARY)';

  /** Bank of that account; production refuses the placeholder. */
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  PAYMENT_BANK_NAME = 'Example Bank (set PAYMENT_BANK_NAME)';

  /** Account number shown in top-up instructions; production refuses the placeholder. */
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  PAYMENT_BANK_ACCOUNT = '0000 0000 0000 0000';

  /** Largest single top-up, in the currency's major units (guards typos such as an extra zero). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000_000_000)
  TOPUP_MAX_AMOUNT = 10_000_000;

  /** Top-ups a buyer may have awaiting confirmation at once. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100)
  TOPUP_MAX_PENDING = 5;

  /** Invoice numbers read `<prefix>-<year>-<sequence>`; the prefix names the issuer. */
  @Matches(/^[A-Z]{2,8}$/, { message: 'INVOICE_NUMBER_PREFIX must be 2-8 capital letters' })
  INVOICE_NUMBER_PREFIX = 'CX';

  /** The seller on buyers' invoices: the platform, which sells the compute it brokers; production refuses the placeholder. */
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  INVOICE_SELLER_NAME = 'Compute Exchange Ltd. (set INVOICE_SELLER_NAME)';

  /** The seller's tax id on invoices; production refuses the placeholder. */
  @IsString()
  @MinLength(1)
  @MaxLength(32)
  INVOICE_SELLER_TAX_ID = 'UNSET-TAX-ID';

  /** The seller's address on invoices; production refuses the placeholder. */
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  INVOICE_SELLER_ADDRESS = 'Guiyang, Guizhou, China (set INVOICE_SELLER_ADDRESS)';

  /** VAT contained in (VAT-inclusive) prices, in basis points; copied onto each invoice at issue. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10_000)
  INVOICE_VAT_BPS = 0;

  /** The zone invoice dates and number years are read in (an IANA name). */
  @IsString()
  @Matches(/^[A-Za-z0-9_+\-/]{1,64}$/, { message: 'INVOICE_TIME_ZONE must be an IANA time zone name' })
  INVOICE_TIME_ZONE = 'Asia/Shanghai';

  /** Requests per minute per API key (or signed-in person). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  RATE_LIMIT_PER_MINUTE = 600;

  /** Requests per minute per client IP on unauthenticated routes (public market data, login). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  RATE_LIMIT_PUBLIC_PER_MINUTE = 120;

  /**
   * How long an API process may reuse an API key it verified (its record and organisation)
   * without reading them again: another process's revocation, rotation or status change is
   * seen within this bound. 0 reads them on every request.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(60_000)
  API_KEY_CACHE_TTL_MS = 5_000;

  /**
   * Comma-separated origins allowed by CORS (web frontends). Empty: any loopback origin
   * (`http://localhost:<port>`, `http://127.0.0.1:<port>`) outside production, none in production.
   */
  @IsString()
  @Matches(/^(|https?:\/\/[^,\s]+(,https?:\/\/[^,\s]+)*)$/, {
    message: 'CORS_ORIGINS must be comma-separated http(s) origins',
  })
  CORS_ORIGINS = '';

  /**
   * Proxies in front whose X-Forwarded-For is trusted: `false`, a hop count (`1` behind one load
   * balancer) or comma-separated addresses/CIDRs. Never `true`: clients could spoof their IP.
   */
  @Matches(/^(false|\d{1,2}|[0-9a-fA-F.:/]+(,[0-9a-fA-F.:/]+)*)$/, {
    message: 'TRUST_PROXY must be false, a hop count, or comma-separated addresses/CIDRs',
  })
  TRUST_PROXY = 'false';

  /**
   * `controllable`: time stands still until a test or `npm run clock -- +2h` moves it, for API and
   * worker processes alike (docs/DEVELOPMENT.md); refused in production.
   */
  @IsIn(['system', 'controllable'])
  CLOCK: 'system' | 'controllable' = 'system';

  /** When set, /metrics requires `Authorization: Bearer <token>`. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(16)
  METRICS_TOKEN?: string;

  /** Secret: keyed hash (HMAC-SHA-256) pepper for API keys. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(32)
  @MaxLength(512)
  API_KEY_PEPPER?: string;

  /** Secret: signs access tokens. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(32)
  @MaxLength(512)
  JWT_SECRET?: string;

  /** Secret: 32 bytes, base64, encrypts lease access details at rest. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'DATA_ENCRYPTION_KEY must be 32 bytes in base64' })
  DATA_ENCRYPTION_KEY?: string;
}

/** Settings whose defaults are placeholders: fine for development, refused in production. */
const PLACEHOLDER_SETTINGS = [
  'PAYMENT_BANK_BENEFICIARY',
  'PAYMENT_BANK_NAME',
  'PAYMENT_BANK_ACCOUNT',
  'INVOICE_SELLER_NAME',
  'INVOICE_SELLER_TAX_ID',
  'INVOICE_SELLER_ADDRESS',
] as const;

export const SECRET_NAMES = ['API_KEY_PEPPER', 'JWT_SECRET', 'DATA_ENCRYPTION_KEY'] as const;
export type SecretName = (typeof SECRET_NAMES)[number];

export class ConfigError extends Error {}

export interface LoadOptions {
  /** False for tools that never touch secrets (the migration CLI), so they run in production without them. */
  requireSecrets?: boolean;
}

/** Reads and validates the environment once; the only place that reads `process.env`. */
export function loadEnvironment(
  env: NodeJS.ProcessEnv = process.env,
  { requireSecrets = true }: LoadOptions = {},
): EnvironmentVariables {
  const known = Object.keys(new EnvironmentVariables());
  const input: Record<string, string> = {};
  for (const key of [...known, ...SECRET_NAMES, 'METRICS_TOKEN', 'DATABASE_POOL_MAX', 'DATABASE_QUEUE_MAX']) {
    const value = env[key];
    if (value !== undefined) input[key] = value;
  }
  const parsed = plainToInstance(EnvironmentVariables, input, { exposeDefaultValues: true });
  const errors = validateSync(parsed, { whitelist: true, forbidUnknownValues: true });
  if (errors.length > 0) {
    const lines = errors.map((e) => `${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}`);
    throw new ConfigError(`invalid configuration: ${lines.join(' | ')}`);
  }
  if (parsed.NODE_ENV === 'production' && parsed.CLOCK === 'controllable') {
    throw new ConfigError('invalid configuration: CLOCK=controllable is refused in production');
  }
  if (parsed.NODE_ENV === 'production' && parsed.WEBHOOK_ALLOW_LOOPBACK) {
    throw new ConfigError('invalid configuration: WEBHOOK_ALLOW_LOOPBACK is refused in production');
  }
  if (parsed.NODE_ENV === 'production' && requireSecrets) {
    const missing = SECRET_NAMES.filter((name) => parsed[name] === undefined);
    if (missing.length > 0) {
      throw new ConfigError(`invalid configuration: ${missing.join(', ')} required in production`);
    }
  }
  if (!isTimeZone(parsed.INVOICE_TIME_ZONE)) {
    throw new ConfigError(
      `invalid configuration: INVOICE_TIME_ZONE ${parsed.INVOICE_TIME_ZONE} is not a known time zone`,
    );
  }
  // Buyers would be told to pay into a placeholder account and invoices would name a placeholder
  // seller (tools such as migrations take no payments and issue no invoices).
  if (parsed.NODE_ENV === 'production' && requireSecrets) {
    const placeholders = placeholderSettings(parsed);
    if (placeholders.length > 0) {
      throw new ConfigError(
        `invalid configuration: ${placeholders.join(', ')} still hold placeholders; set them in production`,
      );
    }
  }
  return parsed;
}

/** The payment and invoice settings that still hold their shipped placeholder values. */
function placeholderSettings(parsed: EnvironmentVariables): string[] {
  const shipped = new EnvironmentVariables();
  return PLACEHOLDER_SETTINGS.filter(
    (name) => parsed[name] === shipped[name] || parsed[name].includes(`(set ${name})`),
  );
}
