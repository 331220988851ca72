import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

// docs/ARCHITECTURE.md "State machine homes": each table's rows are written in one place.
const SRC = join(__dirname, '..');
const HOMES: Record<'bids' | 'offers' | 'leases', readonly string[]> = {
  bids: ['modules/markets/order-state.repository.ts'],
  offers: ['modules/markets/order-state.repository.ts'],
  leases: [
    'modules/leases/leases.repository.ts',
    'modules/leases/lease-state.repository.ts',
    // Settlement's own sub-state only: see SETTLEMENT_COLUMNS.
    'modules/billing/settlement/settlement.repository.ts',
  ],
};
const MODEL_TABLE = { bid: 'bids', offer: 'offers', lease: 'leases' } as const;
const SETTLEMENT_COLUMNS = new Set(['settlementState', 'settlementError', 'settledPeriods', 'updatedAt']);

const SQL_WRITE =
  /\b(?:UPDATE|INSERT\s+INTO|DELETE\s+FROM|MERGE\s+INTO)\s+"?(bids|offers|leases)"?(?=[\s(])/gi;
const PRISMA_WRITE =
  /\.(bid|offer|lease)\s*\.\s*(?:create|createMany|createManyAndReturn|update|updateMany|updateManyAndReturn|upsert|delete|deleteMany)\s*\(/g;

/** The tables a source text writes, each with the text from the write on (for the settlement check). */
function writesIn(text: string): Array<{ table: string; at: string }> {
  const found: Array<{ table: string; at: string }> = [];
  for (const m of text.matchAll(SQL_WRITE)) {
    found.push({ table: m[1]!.toLowerCase(), at: text.slice(m.index) });
  }
  for (const m of text.matchAll(PRISMA_WRITE)) {
    found.push({ table: MODEL_TABLE[m[1] as keyof typeof MODEL_TABLE], at: text.slice(m.index) });
  }
  return found;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

describe('state machine homes (docs/ARCHITECTURE.md)', () => {
  it('finds SQL and Prisma writes of bids, offers and leases', () => {
    const sample = [
      'UPDATE bids b SET status = 1',
      'INSERT INTO offers (id) VALUES (1)',
      'await this.tx.lease.createManyAndReturn({',
      'await this.tx.offer.updateMany({',
      // Not writes: reads, other tables, prose.
      'SELECT id FROM bids FOR UPDATE',
      'UPDATE bid_replacement_plans p SET used_count = 1',
      'this.tx.leasePeriod.update({',
      'one UPDATE for all',
    ].join('\n');
    expect(writesIn(sample).map((w) => w.table)).toEqual(['bids', 'offers', 'leases', 'offers']);
  });

  it('writes bids and offers only in markets/order-state, and leases only in their homes', () => {
    const strays = sources(SRC).flatMap((path) => {
      const file = relative(SRC, path);
      return writesIn(readFileSync(path, 'utf8'))
        .filter((write) => !HOMES[write.table as keyof typeof HOMES].includes(file))
        .map((write) => `${file}: ${write.table}`);
    });
    expect(strays).toEqual([]);
  });

  it('has settlement write only its own lease columns', () => {
    const text = readFileSync(join(SRC, 'modules/billing/settlement/settlement.repository.ts'), 'utf8');
    const writes = writesIn(text);
    expect(writes.length).toBeGreaterThan(0);
    for (const write of writes) {
      expect(write.table).toBe('leases');
      const data = /data:\s*\{([^}]*)\}/.exec(write.at)?.[1] ?? '';
      const columns = [...data.matchAll(/(\w+)\s*:/g)].map((m) => m[1]!);
      expect(columns.filter((column) => !SETTLEMENT_COLUMNS.has(column))).toEqual([]);
    }
  });
});
