import { Query, types, type ClientBase, type CustomTypesConfig, type QueryResultRow } from 'pg';
import { Prisma } from '@/generated/prisma/client';
import type { StatementNames } from './statement-names';

/**
 * What a repository's `$queryRaw` / `$executeRaw` can read from a raw `pg` connection as Prisma's
 * raw queries read it (docs/ARCHITECTURE.md "Raw pg transactions"): `bigint` columns as BigInt,
 * `numeric` as Decimal, `timestamp` and `date` (no time zone) as UTC instants. Other types as
 * `pg` parses them (timestamptz as Date, json as objects, arrays of built-in types as arrays).
 * An array of an enum type comes back as its text ('{A,B}'): cast it to text[] in the SQL.
 */
const INT8 = 20;
const INT8_ARRAY = 1016;
const NUMERIC = 1700;
const TIMESTAMP = 1114;
const DATE = 1082;

const parserOf = types.getTypeParser as (
  oid: number,
  format?: 'text' | 'binary',
) => (value: string) => unknown;
const TEXT_ARRAY = 1009;
const textArray = parserOf(TEXT_ARRAY) as (value: string) => Array<string | null>;
const utc = (value: string): Date => new Date(`${value.replace(' ', 'T')}Z`);

const PRISMA_TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    switch (oid) {
      case INT8:
        return (value: string) => BigInt(value);
      case INT8_ARRAY:
        return (value: string) => textArray(value).map((item) => (item === null ? null : BigInt(item)));
      case NUMERIC:
        return (value: string) => new Prisma.Decimal(value);
      case TIMESTAMP:
        return utc;
      case DATE:
        return (value: string) => utc(`${value} 00:00:00`);
      default:
        return parserOf(oid, format);
    }
  }) as CustomTypesConfig['getTypeParser'],
};

/** A parameter as Prisma sends it: instants as ISO-8601 UTC (also inside arrays), decimals as text. */
function parameter(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return arrayLiteral(value) ?? value.map(parameter);
  if (Prisma.Decimal.isDecimal(value)) return value.toString();
  return value;
}

/**
 * A flat array of scalars as the PostgreSQL array literal `pg` would write for it (the same
 * text: each element quoted, `\` and `"` escaped, null as NULL), written in one pass. The
 * general way copies the array (`parameter`) and `pg` escapes each element with two regular
 * expressions: most of a matching commit's parameter work. Null for anything else (nested
 * arrays, buffers, objects), which goes the general way.
 */
export function arrayLiteral(values: readonly unknown[]): string | null {
  let literal = '{';
  for (let i = 0; i < values.length; i += 1) {
    if (i > 0) literal += ',';
    const value = values[i];
    if (value === null || value === undefined) literal += 'NULL';
    else if (typeof value === 'string') literal += quoted(value);
    else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
      literal += `"${value.toString()}"`;
    else if (value instanceof Date) literal += `"${value.toISOString()}"`;
    else return null;
  }
  return `${literal}}`;
}

/** An array element as `pg`'s escapeElement writes it. */
function quoted(text: string): string {
  if (text.indexOf('"') === -1 && text.indexOf('\\') === -1) return `"${text}"`;
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A tagged template's strings and values, or a ready Sql, as one Sql (nested fragments flattened). */
function sqlOf(query: TemplateStringsArray | Prisma.Sql, values: readonly unknown[]): Prisma.Sql {
  return query instanceof Prisma.Sql ? query : new Prisma.Sql(query, values);
}

type QueryResult = { rows: QueryResultRow[]; rowCount: number | null };

/** The part of `pg`'s connection a query writes its messages with (not in `pg`'s typings). */
interface WireConnection {
  parse(message: { text: string; name?: string; types?: unknown }): void;
  bind(message: { portal?: string; statement?: string; values?: unknown[] }): void;
  execute(message: { portal?: string }): void;
  submittedNamedStatements: Record<string, string>;
}

/** `pg`'s Query as a subclass sees it (its methods are not in `pg`'s typings). */
interface PgQuery {
  readonly name?: string;
  readonly text: string;
  readonly types?: unknown;
  prepare(connection: WireConnection): void;
  hasBeenParsed(connection: WireConnection): boolean;
  handleCommandComplete(message: unknown, connection: WireConnection): void;
}
const PgQueryClass = Query as unknown as new (
  config: object,
  values: undefined,
  callback: (error: Error | null, result: QueryResult) => void,
) => PgQuery;

/**
 * A named prepared statement sent with the transaction's `BEGIN` and `SET LOCAL` ahead of it,
 * in one write and one round trip (docs/ARCHITECTURE.md "Raw pg transactions"): they run in
 * order up to one Sync, and an error in any skips the rest, as if sent one by one. The two
 * commands are unnamed statements whose results are dropped. The statement's own Parse, when
 * the connection has not parsed it yet, goes first: `pg` credits every ParseComplete to the
 * query in flight, so the statement is marked parsed only once its Parse has succeeded, and a
 * Parse that fails leaves no transaction open.
 */
class BeginThenQuery extends PgQueryClass {
  private skip = 2;
  /** What goes ahead of the statement, as one text (for logs and the tests' statement counts). */
  readonly leading: string;

  constructor(
    private readonly commands: readonly [string, string],
    config: object,
    callback: (error: Error | null, result: QueryResult) => void,
  ) {
    super(config, undefined, callback);
    this.leading = commands.join('; ');
  }

  override prepare(connection: WireConnection): void {
    const name = this.name!;
    if (!this.hasBeenParsed(connection)) {
      connection.parse({ text: this.text, name, types: this.types });
      connection.submittedNamedStatements[name] = this.text;
    }
    for (const text of this.commands) {
      connection.parse({ text });
      connection.bind({});
      connection.execute({});
    }
    // Parsed or submitted now: binds, describes, executes and syncs.
    super.prepare(connection);
  }

  override handleCommandComplete(message: unknown, connection: WireConnection): void {
    if (this.skip > 0) this.skip -= 1;
    else super.handleCommandComplete(message, connection);
  }
}

/** Whether a transaction's use went past its time (`PgTxClient.expire`), and why. */
export class TransactionExpiredError extends Error {
  override readonly name = 'TransactionExpiredError';
}

/**
 * The ambient transaction client of a raw `pg` transaction (`PrismaPgTransactionalAdapter`): the
 * raw-query methods of Prisma's client, run on one pooled `pg` connection as named prepared
 * statements (`StatementNames`: parsed and planned once per connection). Anything else of
 * Prisma's client (model delegates, `$transaction`) throws, so a repository that needs them is
 * found by its first test, not by a wrong result.
 */
export class PgTxClient {
  private expired: string | undefined;
  /**
   * The last statement sent: the next waits for it. Callers may run statements concurrently
   * (`Promise.all` in a unit of work); `pg` queues a busy client's queries itself but deprecates
   * it (gone in pg@9), so the queue is ours and keeps call order, as `pg`'s did.
   */
  private tail: Promise<unknown> = Promise.resolve();
  /** The BEGIN this transaction still owes the server: sent with its first statement. */
  private begin: readonly [string, string] | undefined;
  private begun = false;

  constructor(
    private readonly client: ClientBase,
    private readonly names: StatementNames,
  ) {}

  /**
   * Opens the transaction with its first statement rather than with a round trip of its own:
   * `BEGIN` and `SET LOCAL statement_timeout` go in the same write as that statement.
   */
  beginWithFirstStatement(statementTimeoutMs: number): void {
    this.begin = ['BEGIN', `SET LOCAL statement_timeout = ${Math.max(1, Math.ceil(statementTimeoutMs))}`];
  }

  /**
   * Whether BEGIN has been sent, once every statement asked for has been sent and answered: a
   * unit that sent none has nothing to commit or roll back.
   */
  async inTransaction(): Promise<boolean> {
    await this.tail;
    return this.begun;
  }

  /** Refuses every later statement (the transaction ran past its time); the owner rolls back. */
  expire(why: string): void {
    this.expired = why;
  }

  async $queryRaw<T = unknown>(query: TemplateStringsArray | Prisma.Sql, ...values: unknown[]): Promise<T> {
    const result = await this.run(sqlOf(query, values));
    return result.rows as T;
  }

  async $executeRaw(query: TemplateStringsArray | Prisma.Sql, ...values: unknown[]): Promise<number> {
    const result = await this.run(sqlOf(query, values));
    return result.rowCount ?? 0;
  }

  async $queryRawUnsafe<T = unknown>(text: string, ...values: unknown[]): Promise<T> {
    return (await this.query(text, values)).rows as T;
  }

  async $executeRawUnsafe(text: string, ...values: unknown[]): Promise<number> {
    return (await this.query(text, values)).rowCount ?? 0;
  }

  private run(sql: Prisma.Sql): ReturnType<PgTxClient['query']> {
    return this.query(sql.text, sql.values);
  }

  private query(text: string, values: readonly unknown[]): Promise<QueryResult> {
    const send = async (): Promise<QueryResult> => {
      if (this.expired !== undefined) throw new TransactionExpiredError(this.expired);
      const config = {
        name: this.names.nameOf({ sql: text }) || undefined,
        text,
        values: values.map(parameter),
        types: PRISMA_TYPES,
      };
      const begin = this.begin;
      if (begin === undefined) return this.client.query(config);
      this.begin = undefined;
      this.begun = true;
      // An unnamed statement (past NAMED_STATEMENTS_MAX) would be replaced by the commands' own.
      if (config.name === undefined) {
        await this.client.query(begin.join('; '));
        return this.client.query(config);
      }
      return new Promise<QueryResult>((resolve, reject) => {
        const query = new BeginThenQuery(begin, config, (error, result) =>
          error === null ? resolve(result) : reject(error),
        );
        void this.client.query(query as unknown as Parameters<ClientBase['query']>[0]);
      });
    };
    const sent = this.tail.then(send, send);
    this.tail = sent.catch(() => undefined);
    return sent;
  }

  /**
   * This client as the transaction host's client type: what repositories call on it is Prisma's
   * raw-query surface, which it implements; any other member throws on access.
   */
  asPrismaClient<T>(): T {
    return new Proxy(this, {
      get(target, property, receiver) {
        if (property in target || typeof property === 'symbol' || property === 'then')
          return Reflect.get(target, property, receiver) as unknown;
        throw new Error(
          `${String(property)} is not available in a raw pg transaction (only $queryRaw, $executeRaw and their Unsafe forms): use the Prisma driver for this unit of work`,
        );
      },
    }) as unknown as T;
  }
}
