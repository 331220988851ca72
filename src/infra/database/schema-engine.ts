/**
 * Prisma's schema engine compiled to wasm, talking to PostgreSQL through @prisma/adapter-pg.
 * It replaces the native engine binary, which the Prisma CLI cannot download offline.
 * `SchemaEngine.new`, its adapter factory and the glue module are Prisma-internal APIs:
 * @prisma/schema-engine-wasm and the adapters must stay pinned exactly.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  bindMigrationAwareSqlAdapterFactory,
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from '@prisma/driver-adapter-utils';
import type { SchemaEngine as WasmSchemaEngine } from '@prisma/schema-engine-wasm';
import { Client, Pool, type ClientConfig, type PoolClient } from 'pg';

export type { WasmSchemaEngine };

/** Discrete connection fields: a connection string would let pg override the shadow database. */
export interface PgConnectionConfig {
  host: string;
  port: number;
  user?: string;
  password?: string;
  database: string;
  ssl?: boolean | { rejectUnauthorized: boolean };
}

export interface SchemaFile {
  path: string;
  content: string;
}

/** Thrown for failures of this module; the message is always one line. */
export class SchemaEngineError extends Error {
  override readonly name = 'SchemaEngineError';
}

const SHADOW_DB_PREFIX = 'prisma_migrate_shadow_db_';
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * Parses a postgresql:// URL into discrete fields. Supports `?host=` (socket directory) and
 * `?sslmode=`; a non-public `?schema=` is refused because the migrations assume `public`.
 */
export function parseDatabaseUrl(url: string): PgConnectionConfig {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SchemaEngineError('database URL is not a valid URL');
  }
  if (parsed.protocol !== 'postgresql:' && parsed.protocol !== 'postgres:') {
    throw new SchemaEngineError('database URL must start with postgresql://');
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database === '' || database.includes('/')) {
    throw new SchemaEngineError('database URL must name one database (postgresql://host/name)');
  }
  const schema = parsed.searchParams.get('schema');
  if (schema !== null && schema !== 'public') {
    throw new SchemaEngineError(`database URL schema=${schema} is not supported (migrations use public)`);
  }
  const host = parsed.searchParams.get('host') ?? parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const config: PgConnectionConfig = {
    host: host === '' ? 'localhost' : host,
    port: parsed.port === '' ? 5432 : Number(parsed.port),
    database,
  };
  if (parsed.username !== '') config.user = decodeURIComponent(parsed.username);
  if (parsed.password !== '') config.password = decodeURIComponent(parsed.password);
  const sslmode = parsed.searchParams.get('sslmode');
  if (sslmode === 'require' || sslmode === 'prefer') config.ssl = { rejectUnauthorized: false };
  else if (sslmode === 'verify-ca' || sslmode === 'verify-full') config.ssl = true;
  return config;
}

/** `host:port/database` for messages (never the password). */
export function describeConnection(connection: PgConnectionConfig): string {
  return `${connection.host}:${connection.port}/${connection.database}`;
}

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function clientConfig(connection: PgConnectionConfig): ClientConfig {
  return {
    host: connection.host,
    port: connection.port,
    user: connection.user,
    password: connection.password,
    database: connection.database,
    ssl: connection.ssl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  };
}

/** Runs `fn` on a short-lived connection that is always closed. */
export async function withPgClient<T>(
  connection: PgConnectionConfig,
  fn: (client: Client) => Promise<T>,
): Promise<T> {
  const client = new Client(clientConfig(connection));
  // An idle client's socket error would otherwise crash the process; `query` reports it anyway.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new SchemaEngineError(
      `cannot connect to PostgreSQL at ${describeConnection(connection)}: ${firstLine(error)}`,
      { cause: error },
    );
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Loading the wasm module
// ---------------------------------------------------------------------------------------------

/** The subset of the WebAssembly API we use (the project's lib and @types/node 20 lack it). */
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: Record<string, Record<string, unknown>>): Promise<WasmInstance>;
  Module: { imports(module: object): { module: string }[] };
}
interface WasmInstance {
  exports: { __wbindgen_start(): void };
}
interface PanicRegistry {
  set_message(message: string): void;
}

type EngineClass = typeof WasmSchemaEngine;
let enginePromise: Promise<EngineClass> | undefined;
let lastPanic: string | undefined;

/** Instantiates the wasm engine once per process (about 0.1 s). */
export function loadSchemaEngine(): Promise<EngineClass> {
  enginePromise ??= instantiateSchemaEngine().catch((error: unknown) => {
    enginePromise = undefined;
    // jest's require() cannot load the ESM glue untransformed.
    const hint = /Must use import|ERR_REQUIRE_ESM|Unexpected token 'export'/.test(String(error))
      ? ' (under jest, let @prisma/schema-engine-wasm through transformIgnorePatterns)'
      : '';
    throw new SchemaEngineError(`cannot load the wasm schema engine: ${firstLine(error)}${hint}`);
  });
  return enginePromise;
}

const GLUE_MODULE = '@prisma/schema-engine-wasm/schema_engine_bg';
type GlueModule = typeof import('@prisma/schema-engine-wasm/schema_engine_bg');

/**
 * The package entry imports the .wasm as an ES module, which Node 20/22 only allow behind
 * --experimental-wasm-modules: load the JS glue (ESM) instead and instantiate the bytes here.
 * require() first: Node >= 20.19 loads ESM through it, and under jest it is jest's require,
 * which transforms the glue (a native import() there needs --experimental-vm-modules).
 */
async function loadGlue(requireHere: NodeJS.Require): Promise<GlueModule> {
  try {
    return requireHere(GLUE_MODULE) as GlueModule;
  } catch (error) {
    // Older Node without require(esm).
    if ((error as { code?: unknown }).code !== 'ERR_REQUIRE_ESM') throw error;
    return import(GLUE_MODULE) as Promise<GlueModule>;
  }
}

async function instantiateSchemaEngine(): Promise<EngineClass> {
  const requireHere = createRequire(__filename);
  const glue = await loadGlue(requireHere);
  const wasmPath = join(dirname(requireHere.resolve(GLUE_MODULE)), 'schema_engine_bg.wasm');
  const bytes = await readFile(wasmPath);

  const imports: Record<string, unknown> = { ...glue };
  for (const key of Object.keys(glue)) {
    // The engine arms a 10 s timer (lock timeout) that it never clears: keep it from holding
    // the process open after the work is done.
    if (key.startsWith('__wbg_setTimeout_')) imports[key] = unrefSetTimeout;
  }
  // The glue reports Rust panics to this global; keep the message for the error we throw.
  const registryHost = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: PanicRegistry };
  registryHost.PRISMA_WASM_PANIC_REGISTRY ??= {
    set_message: (message: string) => {
      lastPanic = message;
    },
  };

  const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
  const module = await wasm.compile(bytes);
  const moduleNames = new Set(wasm.Module.imports(module).map((entry) => entry.module));
  const instance = await wasm.instantiate(
    module,
    Object.fromEntries([...moduleNames].map((name) => [name, imports])),
  );
  glue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  return glue.SchemaEngine;
}

function unrefSetTimeout(callback: () => void, ms: number): NodeJS.Timeout {
  const timer = setTimeout(callback, ms);
  // Fake timers under jest may return something without unref.
  if (typeof timer?.unref === 'function') timer.unref();
  return timer;
}

// ---------------------------------------------------------------------------------------------
// Adapter factory: adapter-pg with the shadow-database and script fixes the engine needs
// ---------------------------------------------------------------------------------------------

/**
 * `new PrismaPg(...)` with the fixes migrations need (shadow database, one-query scripts,
 * `"char"` columns, closing connections): docs/OPERATIONS.md "Migrations".
 */
class PgMigrationAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres';
  readonly adapterName = '@prisma/adapter-pg';
  private readonly open = new Set<() => Promise<void>>();

  constructor(private readonly connection: PgConnectionConfig) {}

  connect(): Promise<SqlDriverAdapter> {
    return this.openAdapter(this.connection, () => Promise.resolve());
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const database = `${SHADOW_DB_PREFIX}${randomUUID().replace(/-/g, '')}`;
    await withPgClient(this.connection, (client) =>
      client.query(`CREATE DATABASE ${quoteIdentifier(database)}`),
    );
    return this.openAdapter({ ...this.connection, database }, () =>
      withPgClient(this.connection, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(database)} WITH (FORCE)`);
      }),
    );
  }

  /** Closes every connection still open, shadow databases last dropped; reports the first failure. */
  async closeAll(): Promise<void> {
    const results = await Promise.allSettled([...this.open].map((close) => close()));
    const failure = results.find((result) => result.status === 'rejected');
    if (failure) throw failure.reason;
  }

  private async openAdapter(
    connection: PgConnectionConfig,
    afterClose: () => Promise<void>,
  ): Promise<SqlDriverAdapter> {
    // One connection, like the native engine: its advisory lock and session state stay on it.
    const pool = new Pool({ ...clientConfig(connection), max: 1 });
    pool.on('connect', reportCharColumnsAsText);
    // An idle client's socket error would otherwise crash the process; queries report it.
    pool.on('error', () => undefined);
    const inner = await new PrismaPg(pool, { disposeExternalPool: true }).connect();
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        this.open.delete(close);
        try {
          await inner.dispose();
        } finally {
          await afterClose();
        }
      })();
      return closing;
    };
    this.open.add(close);
    return {
      provider: inner.provider,
      adapterName: inner.adapterName,
      queryRaw: (query) => inner.queryRaw(query),
      executeRaw: (query) => inner.executeRaw(query),
      startTransaction: (isolationLevel) => inner.startTransaction(isolationLevel),
      getConnectionInfo: () => inner.getConnectionInfo(),
      executeScript: (script) => executeWholeScript(inner.underlyingDriver(), script),
      dispose: close,
    };
  }
}

const CHAR_OID = 18;
const TEXT_OID = 25;

/** Rewrites `"char"` result columns as text on every query of this pooled client. */
function reportCharColumnsAsText(client: PoolClient): void {
  const retype = (result: unknown): void => {
    const fields = (result as { fields?: { dataTypeID: number }[] } | undefined)?.fields;
    for (const field of fields ?? []) {
      if (field.dataTypeID === CHAR_OID) field.dataTypeID = TEXT_OID;
    }
  };
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  // pg's own types cannot express "same overloads, post-processed": patch through unknown.
  Object.assign(client, {
    query: (...args: unknown[]): unknown => {
      const callback = args.at(-1);
      if (typeof callback === 'function') {
        // pg.Pool#query calls client.query(text, values, callback).
        args[args.length - 1] = (error: unknown, result: unknown) => {
          retype(result);
          (callback as (error: unknown, result: unknown) => void)(error, result);
        };
        return query(...args);
      }
      const returned = query(...args);
      // A promise for plain queries; submittables (cursors) are returned untouched.
      if (returned instanceof Object && typeof (returned as Promise<unknown>).then === 'function') {
        return (returned as Promise<unknown>).then((result) => {
          retype(result);
          return result;
        });
      }
      return returned;
    },
  });
}

async function executeWholeScript(pool: Pool, script: string): Promise<void> {
  try {
    // No parameters: pg uses the simple-query protocol, which accepts many statements and runs
    // them in one implicit transaction.
    await pool.query(script);
  } catch (error) {
    throw toDriverAdapterError(error);
  }
}

/** Maps pg errors to the shapes the engine formats ("Error querying the database: ..."). */
function toDriverAdapterError(error: unknown): unknown {
  if (typeof error !== 'object' || error === null) return error;
  const e = error as Partial<
    Record<'code' | 'severity' | 'message' | 'detail' | 'column' | 'hint', unknown>
  > & {
    address?: unknown;
    port?: unknown;
  };
  if (typeof e.code === 'string' && typeof e.severity === 'string' && typeof e.message === 'string') {
    return new DriverAdapterError({
      kind: 'postgres',
      code: e.code,
      severity: e.severity,
      message: e.message,
      detail: typeof e.detail === 'string' ? e.detail : undefined,
      column: typeof e.column === 'string' ? e.column : undefined,
      hint: typeof e.hint === 'string' ? e.hint : undefined,
      originalCode: e.code,
      originalMessage: e.message,
    });
  }
  if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND') {
    return new DriverAdapterError({
      kind: 'DatabaseNotReachable',
      host: typeof e.address === 'string' ? e.address : undefined,
      port: typeof e.port === 'number' ? e.port : undefined,
    });
  }
  return error;
}

// ---------------------------------------------------------------------------------------------
// Engine sessions
// ---------------------------------------------------------------------------------------------

export interface SchemaEngineOptions {
  /** Database the engine connects to; shadow databases are created on the same server. */
  connection: PgConnectionConfig;
  /** The Prisma schema the engine starts with (its datasource decides the connector). */
  schema: SchemaFile;
  /** Receives the engine's JSON log lines (default: ignored). */
  onLog?: (line: string) => void;
}

/**
 * Opens an engine, runs `fn`, then frees it and closes every connection it opened (dropping
 * any shadow database left). Engine failures become one-line `SchemaEngineError`s.
 */
export async function withSchemaEngine<T>(
  options: SchemaEngineOptions,
  fn: (engine: WasmSchemaEngine) => Promise<T>,
): Promise<T> {
  const SchemaEngine = await loadSchemaEngine();
  const factory = new PgMigrationAdapterFactory(options.connection);
  const onLog = options.onLog ?? (() => undefined);
  let engine: WasmSchemaEngine | undefined;
  let result: T;
  try {
    lastPanic = undefined;
    engine = await SchemaEngine.new(
      { datamodels: [[options.schema.path, options.schema.content]] },
      onLog,
      bindMigrationAwareSqlAdapterFactory(factory),
    );
    result = await fn(engine);
  } catch (error) {
    await release(engine, factory).catch(() => undefined);
    throw error instanceof SchemaEngineError ? error : new SchemaEngineError(engineErrorMessage(error));
  }
  await release(engine, factory);
  return result;
}

async function release(
  engine: WasmSchemaEngine | undefined,
  factory: PgMigrationAdapterFactory,
): Promise<void> {
  engine?.free();
  try {
    await factory.closeAll();
  } catch (error) {
    throw new SchemaEngineError(`closing schema engine connections failed: ${firstLine(error)}`);
  }
}

/**
 * One line describing an engine failure. Engine messages are several lines (a summary, the
 * database error, then a backtrace whose lines start with "N: "); keep what precedes the trace.
 */
export function engineErrorMessage(error: unknown): string {
  if (lastPanic !== undefined) return `schema engine panicked: ${firstLine(lastPanic)}`;
  const message = messageOf(error);
  if (message === undefined) return firstLine(error);
  const lines: string[] = [];
  for (const raw of message.split('\n')) {
    if (/^\s*\d+: /.test(raw)) break;
    const line = raw.trim();
    if (line !== '') lines.push(line);
  }
  const text = lines.join(' ');
  if (text === '') return firstLine(error);
  // The trace names the migration that failed; the summary does not.
  const migration = /migration_name="([^"]+)"/.exec(message)?.[1];
  return truncate(migration === undefined ? text : `migration ${migration} failed: ${text}`);
}

/** First meaningful line of an error (pg's AggregateError and socket errors have no message). */
export function firstLine(error: unknown): string {
  const errors = (error as { errors?: unknown } | null)?.errors;
  if (!messageOf(error) && Array.isArray(errors) && errors.length > 0) {
    return firstLine(errors[0]);
  }
  const text = messageOf(error) ?? String(error);
  const line = text
    .split('\n')
    .map((part) => part.trim())
    .find((part) => part !== '');
  if (line !== undefined) return truncate(line);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'unknown error';
}

/** An error's message, also for errors from another realm (jest's module loader). */
function messageOf(error: unknown): string | undefined {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : undefined;
}

function truncate(text: string, max = 600): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
