import { StatementNames } from './statement-names';

describe('StatementNames', () => {
  it('names a text by its hash, the same name every time and on every instance', () => {
    const a = new StatementNames();
    const name = a.nameOf({ sql: 'SELECT 1' });
    expect(name).toMatch(/^cx_[0-9a-f]{40}$/);
    expect(a.nameOf({ sql: 'SELECT 1' })).toBe(name);
    expect(new StatementNames().nameOf({ sql: 'SELECT 1' })).toBe(name);
    expect(a.nameOf({ sql: 'SELECT 2' })).not.toBe(name);
  });

  it('leaves texts unnamed past its cap, and keeps the names it gave', () => {
    const names = new StatementNames(2);
    const first = names.nameOf({ sql: 'SELECT 1' });
    names.nameOf({ sql: 'SELECT 2' });
    expect(names.nameOf({ sql: 'SELECT 3' })).toBe('');
    expect(names.nameOf({ sql: 'SELECT 1' })).toBe(first);
    expect(names.size).toBe(2);
  });
});
