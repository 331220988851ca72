import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { databaseUrl, workerDatabaseName } from '../support/test-env';

/** The twelve arrays of ledger_post_transfers for one bid hold of `amount` (as LedgerRepository sends them). */
function holdArguments(key: string, buyer: string, amount: bigint): unknown[] {
  return [
    [key],
    ['BID_HOLD'],
    ['CNY'],
    [buyer],
    [''],
    [''],
    [''],
    [''],
    [key, key],
    [buyer, buyer],
    ['BUYER_AVAILABLE', 'BUYER_HELD'],
    [(-amount).toString(), amount.toString()],
  ];
}

/**
 * The ledger rules the database enforces by itself (docs/LEDGER.md, "What the database
 * enforces"), checked with raw statements that bypass the application, as a wrong caller would:
 * every posting is one statement of transfers and entries, and the set-based entry trigger
 * applies it whole. Each case runs in a transaction that is rolled back, so nothing stays.
 */
describe('ledger rules in the database', () => {
  const db = new Client({ connectionString: databaseUrl(workerDatabaseName()) });
  const other = new Client({ connectionString: databaseUrl(workerDatabaseName()) });

  beforeAll(async () => {
    await db.connect();
    await other.connect();
  });
  afterAll(async () => {
    await db.end();
    await other.end();
  });

  /** A buyer and a provider (their accounts open by trigger) in CNY, in the open transaction. */
  async function organisations(client: Client): Promise<{ buyer: string; provider: string }> {
    const buyer = randomUUID();
    const provider = randomUUID();
    await client.query(
      `INSERT INTO organisations (id, name, role, updated_at) VALUES ($1, 'rules buyer', 'BUYER', now()),
       ($2, 'rules provider', 'PROVIDER', now())`,
      [buyer, provider],
    );
    return { buyer, provider };
  }

  async function account(client: Client, organisation: string | null, kind: string): Promise<string> {
    const { rows } = await client.query<{ id: string }>(
      `SELECT id FROM ledger_accounts WHERE organisation_id IS NOT DISTINCT FROM $1::uuid AND kind = $2::"LedgerAccountKind" AND currency = 'CNY'`,
      [organisation, kind],
    );
    if (rows[0] === undefined) throw new Error(`no ${kind} account for ${organisation}`);
    return rows[0].id;
  }

  /**
   * A fresh buyer's accounts and the platform's funding account, in the open transaction; with
   * `topUp`, that much already moved from funding to available.
   */
  async function fundedBuyer(
    client: Client,
    topUp = 0n,
  ): Promise<{ funding: string; available: string; held: string }> {
    const { buyer } = await organisations(client);
    const funding = await account(client, null, 'EXTERNAL_FUNDING');
    const available = await account(client, buyer, 'BUYER_AVAILABLE');
    const held = await account(client, buyer, 'BUYER_HELD');
    if (topUp > 0n) await post(client, [move(funding, available, topUp)]);
    return { funding, available, held };
  }

  /** A transfer of `amount` from one account to another. */
  const move = (from: string, to: string, amount: bigint): { entries: Array<[string, bigint]> } => ({
    entries: [
      [from, -amount],
      [to, amount],
    ],
  });

  async function balance(client: Client, id: string): Promise<bigint> {
    const { rows } = await client.query<{ balance: string }>(
      'SELECT balance FROM ledger_accounts WHERE id = $1',
      [id],
    );
    return BigInt(rows[0]!.balance);
  }

  /**
   * Posts transfers, each with its entries (account id, amount), in one statement as
   * `LedgerRepository.postTransfers` does.
   */
  async function post(
    client: Client,
    transfers: Array<{ currency?: string; entries: Array<[string, bigint]> }>,
  ): Promise<void> {
    const keys = transfers.map(() => `rules:${randomUUID()}`);
    const lines = transfers.flatMap((t, i) =>
      t.entries.map(([accountId, amount]) => ({ key: keys[i]!, accountId, amount })),
    );
    await client.query(
      `WITH posted AS (
         INSERT INTO ledger_transfers (id, key, kind, currency, created_at)
         SELECT gen_random_uuid(), k, 'CORRECTION', c, now() FROM unnest($1::text[], $2::text[]) AS i(k, c)
         RETURNING id, key),
       written AS (
         INSERT INTO ledger_entries (transfer_id, account_id, amount, created_at)
         SELECT posted.id, l.account_id, l.amount, now()
         FROM unnest($3::text[], $4::uuid[], $5::bigint[]) AS l(key, account_id, amount)
         JOIN posted ON posted.key = l.key
         ORDER BY l.account_id
         RETURNING transfer_id)
       SELECT count(*) FROM written`,
      [
        keys,
        transfers.map((t) => t.currency ?? 'CNY'),
        lines.map((l) => l.key),
        lines.map((l) => l.accountId),
        lines.map((l) => l.amount.toString()),
      ],
    );
  }

  /** Runs `body` in a transaction that is always rolled back; returns what it threw, if anything. */
  async function rolledBack(client: Client, body: () => Promise<void>): Promise<Error | undefined> {
    await client.query('BEGIN');
    try {
      await body();
      return undefined;
    } catch (error) {
      return error as Error;
    } finally {
      await client.query('ROLLBACK');
    }
  }

  it('applies a statement of many transfers as the net per account', async () => {
    const error = await rolledBack(db, async () => {
      // A top-up, then in one statement two holds and a release: 1000 - 300 - 200 + 50.
      const { available, held } = await fundedBuyer(db, 1000n);
      await post(db, [move(available, held, 300n), move(available, held, 200n), move(held, available, 50n)]);
      expect(await balance(db, available)).toBe(550n);
      expect(await balance(db, held)).toBe(450n);
    });
    expect(error).toBeUndefined();
  });

  it('refuses a statement that would take an organisation account below zero, and writes none of it', async () => {
    let available = '';
    const error = await rolledBack(db, async () => {
      const buyer = await fundedBuyer(db, 100n);
      available = buyer.available;
      const held = buyer.held;
      await db.query('SAVEPOINT before');
      const overdraw = await post(db, [move(available, held, 60n), move(available, held, 60n)]).catch(
        (e: Error) => e,
      );
      expect(String(overdraw)).toMatch(/ledger_insufficient_funds: account .* would go below zero/);
      await db.query('ROLLBACK TO SAVEPOINT before');
      expect(await balance(db, available)).toBe(100n);
      expect(await balance(db, held)).toBe(0n);
    });
    expect(error).toBeUndefined();
    expect(available).not.toBe('');
  });

  it('posts through ledger_post_transfers once per key, under the same rules', async () => {
    const error = await rolledBack(db, async () => {
      const { buyer } = await organisations(db);
      const available = await account(db, buyer, 'BUYER_AVAILABLE');
      const held = await account(db, buyer, 'BUYER_HELD');
      await post(db, [move(await account(db, null, 'EXTERNAL_FUNDING'), available, 100n)]);
      /** A bid hold of `amount` as LedgerRepository.postTransfers sends it; the keys posted. */
      const hold = async (key: string, amount: bigint): Promise<string[]> => {
        const { rows } = await db.query<{ key: string }>(
          `SELECT p.key FROM ledger_post_transfers($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
             $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[], now()) AS p(key)`,
          holdArguments(key, buyer, amount),
        );
        return rows.map((row) => row.key);
      };
      const key = `rules:${randomUUID()}`;
      expect(await hold(key, 60n)).toEqual([key]);
      expect(await hold(key, 60n)).toEqual([]);
      expect([await balance(db, available), await balance(db, held)]).toEqual([40n, 60n]);
      await db.query('SAVEPOINT before');
      const overdraw = await hold(`rules:${randomUUID()}`, 41n).catch((e: Error) => e);
      expect(String(overdraw)).toMatch(/ledger_insufficient_funds: account .* would go below zero/);
      await db.query('ROLLBACK TO SAVEPOINT before');
      expect([await balance(db, available), await balance(db, held)]).toEqual([40n, 60n]);
    });
    expect(error).toBeUndefined();
  });

  it("judges a posting carried in a larger statement's CTE (a group commit's holds) as one sent alone", async () => {
    const error = await rolledBack(db, async () => {
      const { buyer } = await organisations(db);
      const available = await account(db, buyer, 'BUYER_AVAILABLE');
      const held = await account(db, buyer, 'BUYER_HELD');
      await post(db, [move(await account(db, null, 'EXTERNAL_FUNDING'), available, 100n)]);
      /**
       * A bid hold of `amount` as OrderStateRepository.writePlacements carries it: after another
       * data-modifying CTE (an idempotency record here) that gates it; the holds posted.
       */
      const holdInBatch = async (recordKey: string, amount: bigint): Promise<number> => {
        const key = `rules:${randomUUID()}`;
        const { rows } = await db.query<{ held: number }>(
          `WITH stored AS (
             INSERT INTO idempotency_records (scope, key, fingerprint, status_code, response_body, created_at, expires_at)
             VALUES ($13, $14, 'f', 201, '{}', now(), now() + interval '1 day') RETURNING key),
           held AS (
             SELECT h.key FROM (
               SELECT p.key FROM ledger_post_transfers($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                 $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[], now()) AS p(key)) AS h
             WHERE (SELECT count(*) FROM stored) = 1)
           SELECT (SELECT count(*)::int FROM held) AS held`,
          [...holdArguments(key, buyer, amount), buyer, recordKey],
        );
        return rows[0]!.held;
      };
      expect(await holdInBatch('first', 60n)).toBe(1);
      expect([await balance(db, available), await balance(db, held)]).toEqual([40n, 60n]);
      await db.query('SAVEPOINT before');
      // The posting's own triggers refuse the overdraft, and the whole statement goes with it.
      const overdraw = await holdInBatch('second', 41n).catch((e: Error) => e);
      expect(String(overdraw)).toMatch(/ledger_insufficient_funds: account .* would go below zero/);
      await db.query('ROLLBACK TO SAVEPOINT before');
      expect([await balance(db, available), await balance(db, held)]).toEqual([40n, 60n]);
      const { rows } = await db.query<{ key: string }>(
        'SELECT key FROM idempotency_records WHERE scope = $1 ORDER BY key',
        [buyer],
      );
      expect(rows.map((row) => row.key)).toEqual(['first']);
    });
    expect(error).toBeUndefined();
  });

  it('keeps a provider receivable at or below zero', async () => {
    const error = await rolledBack(db, async () => {
      const { provider } = await organisations(db);
      const receivable = await account(db, provider, 'PROVIDER_RECEIVABLE');
      const fees = await account(db, null, 'PLATFORM_FEES');
      await post(db, [move(receivable, fees, 40n)]);
      expect(await balance(db, receivable)).toBe(-40n);
      await db.query('SAVEPOINT before');
      const overpaid = await post(db, [move(fees, receivable, 41n)]).catch((e: Error) => e);
      expect(String(overpaid)).toMatch(/ledger_receivable_overpaid/);
      await db.query('ROLLBACK TO SAVEPOINT before');
      await post(db, [move(fees, receivable, 40n)]);
      expect(await balance(db, receivable)).toBe(0n);
    });
    expect(error).toBeUndefined();
  });

  it('refuses a zero entry, an entry in another currency than its transfer, and an unbalanced transfer', async () => {
    const zero = await rolledBack(db, async () => {
      const { funding, available } = await fundedBuyer(db);
      await post(db, [
        {
          entries: [
            [funding, 0n],
            [available, 0n],
          ],
        },
      ]);
    });
    expect(String(zero)).toMatch(/an entry moves a non-zero amount/);

    const currency = await rolledBack(db, async () => {
      const { funding, available } = await fundedBuyer(db);
      await post(db, [{ currency: 'USD', ...move(funding, available, 5n) }]);
    });
    expect(String(currency)).toMatch(/account currency CNY differs from transfer currency USD/);

    const unbalanced = await rolledBack(db, async () => {
      const { funding, available } = await fundedBuyer(db);
      await post(db, [
        {
          entries: [
            [funding, -5n],
            [available, 6n],
          ],
        },
      ]);
    });
    expect(String(unbalanced)).toMatch(/ledger_unbalanced/);
  });

  it('refuses a transfer without entries, and later entries of a transfer that do not balance among themselves', async () => {
    const empty = await rolledBack(db, async () => {
      await db.query(
        `INSERT INTO ledger_transfers (id, key, kind, currency, created_at)
         VALUES (gen_random_uuid(), $1, 'CORRECTION', 'CNY', now())`,
        [`rules:${randomUUID()}`],
      );
    });
    expect(String(empty)).toMatch(/ledger_unbalanced: transfer .* has 0 entries/);

    // A transfer posted in one statement may gain entries later only if those balance on their
    // own (its earlier entries already did); one entry alone, or a pair summing to 1, is refused.
    const later = async (amounts: bigint[]): Promise<Error | undefined> =>
      rolledBack(db, async () => {
        const { funding, available } = await fundedBuyer(db);
        const fees = await account(db, null, 'PLATFORM_FEES');
        await post(db, [move(funding, fees, 10n)]);
        const { rows } = await db.query<{ id: string }>(
          `SELECT t.id FROM ledger_transfers t JOIN ledger_entries e ON e.transfer_id = t.id
           WHERE e.account_id = $1 ORDER BY e.id DESC LIMIT 1`,
          [fees],
        );
        const accounts = [funding, available];
        await db.query(
          `INSERT INTO ledger_entries (transfer_id, account_id, amount, created_at)
           SELECT $1, a, x, now() FROM unnest($2::uuid[], $3::bigint[]) AS l(a, x)`,
          [rows[0]!.id, accounts.slice(0, amounts.length), amounts.map(String)],
        );
        expect(await balance(db, available)).toBe(amounts[1]);
      });
    expect(String(await later([-7n]))).toMatch(/ledger_unbalanced: transfer .* has 1 entries summing to -7/);
    expect(String(await later([-7n, 8n]))).toMatch(
      /ledger_unbalanced: transfer .* has 2 entries summing to 1/,
    );
    expect(await later([-7n, 7n])).toBeUndefined();
  });

  it("counts each posting statement in its backend's counter row: transfers, and the amount they move", async () => {
    const error = await rolledBack(db, async () => {
      const counters = async (): Promise<{ transfers: bigint; amount: bigint }> => {
        const { rows } = await db.query<{ transfers: string; amount: string }>(
          `SELECT COALESCE(sum(transfers), 0) AS transfers, COALESCE(sum(amount), 0) AS amount
           FROM ledger_transfer_counters WHERE kind = 'CORRECTION' AND currency = 'CNY'`,
        );
        return { transfers: BigInt(rows[0]!.transfers), amount: BigInt(rows[0]!.amount) };
      };
      const { available, held } = await fundedBuyer(db, 1000n);
      const before = await counters();
      await post(db, [move(available, held, 300n), move(held, available, 50n)]);
      const after = await counters();
      expect(after.transfers - before.transfers).toBe(2n);
      expect(after.amount - before.amount).toBe(350n);
    });
    expect(error).toBeUndefined();
  });

  it('moves a cached balance only through entries', async () => {
    const error = await rolledBack(db, async () => {
      const { available } = await fundedBuyer(db);
      await db.query('UPDATE ledger_accounts SET balance = balance + 1 WHERE id = $1', [available]);
    });
    expect(String(error)).toMatch(/balances change only through ledger entries/);
  });

  it('lets two transactions post to the same accounts in opposite orders without a deadlock', async () => {
    // Committed set-up, removed at the end: accounts are never deleted, so the organisations stay
    // in this worker's scratch database, which the suite drops.
    const { available, held } = await fundedBuyer(db, 1000n);

    await db.query('BEGIN');
    await other.query('BEGIN');
    try {
      // One statement lists held first, the other available first; both lock in account-id order.
      await post(db, [
        {
          entries: [
            [held, 10n],
            [available, -10n],
          ],
        },
      ]);
      const second = post(other, [move(available, held, 20n)]);
      await db.query('COMMIT');
      await second;
      await other.query('COMMIT');
    } catch (error) {
      await db.query('ROLLBACK').catch(() => undefined);
      await other.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    expect(await balance(db, available)).toBe(970n);
    expect(await balance(db, held)).toBe(30n);
  });

  it('does not wait on a transaction that only references the accounts (its foreign-key checks)', async () => {
    // Two postings to the same accounts each hold KEY SHARE locks from their entries' foreign
    // keys; if the trigger then asked FOR UPDATE, each would wait on the other's: a deadlock.
    // The trigger asks FOR NO KEY UPDATE, which KEY SHARE does not block (nor did the row
    // trigger's UPDATE before it).
    const { available, held } = await fundedBuyer(db, 100n);

    await other.query('BEGIN');
    await db.query('BEGIN');
    try {
      await other.query('SELECT 1 FROM ledger_accounts WHERE id = ANY($1::uuid[]) FOR KEY SHARE', [
        [available, held],
      ]);
      await db.query(`SET LOCAL lock_timeout = '5s'`);
      await post(db, [move(available, held, 7n)]);
      await db.query('COMMIT');
    } catch (error) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      await other.query('ROLLBACK');
    }
    expect(await balance(db, held)).toBe(7n);
  });
});
