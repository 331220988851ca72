import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findProjectRoot, formatMigrationTimestamp, MigrationError, toMigrationSlug } from './migrator';
import { engineErrorMessage, parseDatabaseUrl, SchemaEngineError } from './schema-engine';

describe('toMigrationSlug', () => {
  it.each([
    ['init', 'init'],
    ['addLeaseTable', 'add_lease_table'],
    ['add lease-table', 'add_lease_table'],
    ['  Add  Leases!! ', 'add_leases'],
    ['v2Markets', 'v2_markets'],
  ])('%p -> %p', (name, slug) => {
    expect(toMigrationSlug(name)).toBe(slug);
  });

  it('refuses a name without letters or digits', () => {
    expect(() => toMigrationSlug(' -- ')).toThrow(MigrationError);
  });
});

describe('formatMigrationTimestamp', () => {
  it('is UTC yyyymmddHHMMSS', () => {
    expect(formatMigrationTimestamp(new Date('2026-11-28T09:05:07.999Z'))).toBe('20261128090507');
  });
});

describe('parseDatabaseUrl', () => {
  it('splits a URL into discrete fields, decoding credentials', () => {
    expect(parseDatabaseUrl('postgresql://app:p%40ss%2Fw@db.internal:6543/cx_test')).toEqual({
      host: 'db.internal',
      port: 6543,
      user: 'app',
      password: 'p@ss/w',
      database: 'cx_test',
    });
  });

  it('defaults the port and honours host= and sslmode=', () => {
    expect(
      parseDatabaseUrl('postgres://postgres@localhost/cx?host=/var/run/postgresql&sslmode=require'),
    ).toEqual({
      host: '/var/run/postgresql',
      port: 5432,
      user: 'postgres',
      database: 'cx',
      ssl: { rejectUnauthorized: false },
    });
  });

  it.each([
    ['not a url', 'not a valid URL'],
    ['mysql://root@localhost/cx', 'must start with postgresql://'],
    ['postgresql://postgres@localhost/', 'must name one database'],
    ['postgresql://postgres@localhost/cx?schema=tenant', 'schema=tenant is not supported'],
  ])('refuses %p', (url, message) => {
    expect(() => parseDatabaseUrl(url)).toThrow(message);
  });

  it('never puts the password in its errors', () => {
    expect(() => parseDatabaseUrl('postgresql://u:secret@localhost/')).toThrow(SchemaEngineError);
    expect(() => parseDatabaseUrl('postgresql://u:secret@localhost/')).not.toThrow(/secret/);
  });
});

describe('findProjectRoot', () => {
  it('finds the directory holding prisma/schema.prisma from this file', () => {
    const root = findProjectRoot(__dirname);
    expect(existsSync(join(root, 'prisma', 'schema.prisma'))).toBe(true);
    expect(existsSync(join(root, 'prisma', 'migrations', 'migration_lock.toml'))).toBe(true);
  });
});

describe('engineErrorMessage', () => {
  it('keeps the summary, drops the backtrace and names the failed migration', () => {
    const error = new Error(
      'external connector error\nError querying the database: ERROR: boom\n' +
        '   0: sql_schema_connector::apply_migration::apply_script\n' +
        '           with migration_name="20261201000000_add_x"\n' +
        '             at schema-engine/connectors/sql-schema-connector/src/apply_migration.rs:113',
    );
    expect(engineErrorMessage(error)).toBe(
      'migration 20261201000000_add_x failed: external connector error ' +
        'Error querying the database: ERROR: boom',
    );
  });

  it('is one line for plain errors', () => {
    expect(engineErrorMessage(new SchemaEngineError('Database `x` does not exist\n'))).toBe(
      'Database `x` does not exist',
    );
  });
});
