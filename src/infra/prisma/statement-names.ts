import { createHash } from 'node:crypto';

/**
 * Distinct statement texts a process names; a text seen after that runs unnamed (parsed and
 * planned each time, as before). SQL whose text varies with a list's length would otherwise
 * keep adding prepared statements to every connection, each holding its plan in the backend.
 */
export const NAMED_STATEMENTS_MAX = 1_000;

/**
 * Names for prepared statements (`PrismaPg`'s `statementNameGenerator`), so that `pg` parses and
 * PostgreSQL plans a statement once per connection and later executions only bind and run it.
 * The name is a hash of the text: `pg` refuses a name reused for another text on a connection,
 * and the same text gets the same name on every connection.
 */
export class StatementNames {
  private readonly names = new Map<string, string>();

  constructor(private readonly max = NAMED_STATEMENTS_MAX) {}

  /** The statement's name, or '' (unnamed, as `pg` reads it) once `max` texts have been named. */
  readonly nameOf = ({ sql }: { sql: string }): string => {
    const known = this.names.get(sql);
    if (known !== undefined) return known;
    if (this.names.size >= this.max) return '';
    const name = `cx_${createHash('sha1').update(sql, 'utf8').digest('hex')}`;
    this.names.set(sql, name);
    return name;
  };

  get size(): number {
    return this.names.size;
  }
}
