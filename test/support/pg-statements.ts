import { Client } from 'pg';

/**
 * The statements one call of pg's `Client#query` sends, whitespace folded: a string, a query
 * config's text, or a raw pg transaction's first statement with the `BEGIN; SET LOCAL ...` it
 * carries in the same round trip (`pg-tx-client.ts`), listed ahead of it as its own statement.
 */
export function statementsOfCall(first: unknown): string[] {
  const fold = (text: string): string => text.replace(/\s+/g, ' ').trim();
  if (typeof first === 'string') return [fold(first)];
  const { text, leading } = first as { text: string; leading?: string };
  return leading === undefined ? [fold(text)] : [fold(leading), fold(text)];
}

/**
 * Records what the app's pool sends while `recording()` says so: each statement, and each call
 * of `Client#query` (one round trip). `restore()` puts pg's own method back.
 */
export function recordPgStatements(recording: () => boolean = () => true): {
  statements: string[];
  roundTrips: () => number;
  reset: () => void;
  restore: () => void;
} {
  const original = Object.getOwnPropertyDescriptor(Client.prototype, 'query')!;
  const query = original.value as (...args: unknown[]) => unknown;
  const statements: string[] = [];
  let calls = 0;
  Object.defineProperty(Client.prototype, 'query', {
    ...original,
    value: function (this: Client, ...args: unknown[]): unknown {
      if (recording()) {
        calls += 1;
        statements.push(...statementsOfCall(args[0]));
      }
      return query.apply(this, args);
    },
  });
  return {
    statements,
    roundTrips: () => calls,
    reset: () => {
      statements.length = 0;
      calls = 0;
    },
    restore: () => Object.defineProperty(Client.prototype, 'query', original),
  };
}
