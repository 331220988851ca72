import { applyDecorators, type Type } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, getSchemaPath } from '@nestjs/swagger';
import { stringify } from 'csv-stringify/sync';
import type { FastifyReply } from 'fastify';

/** One column of a CSV statement: its header and how a row's cell is read. */
export interface CsvColumn<T> {
  header: string;
  value: (row: T) => string | number | null | undefined;
  /** Free text a person typed (names, memos): neutralised against spreadsheet formulas. */
  text?: boolean;
}

// A cell a spreadsheet would run as a formula (OWASP "CSV injection") is prefixed with '.
const FORMULA_START = /^[=+\-@\t\r]/;

/** RFC 4180 text (CRLF, quotes doubled, a header row) of the rows; amounts pass through as strings. */
export function toCsv<T>(columns: readonly CsvColumn<T>[], rows: readonly T[]): string {
  const cells = rows.map((row) =>
    columns.map((column) => {
      const value = column.value(row);
      if (value === null || value === undefined) return '';
      const text = String(value);
      return column.text === true && FORMULA_START.test(text) ? `'${text}` : text;
    }),
  );
  return stringify([columns.map((column) => column.header), ...cells], { record_delimiter: 'windows' });
}

/**
 * Answers with a CSV attachment. A paginated statement's next page travels in `X-Next-Cursor`
 * (absent on the last page), so every response stays one page in size.
 */
export function replyCsv(
  reply: FastifyReply,
  filename: string,
  body: string,
  nextCursor?: string | null,
): string {
  void reply.header('content-type', 'text/csv; charset=utf-8');
  void reply.header('content-disposition', `attachment; filename="${filename}"`);
  if (nextCursor) void reply.header('x-next-cursor', nextCursor);
  return body;
}

/**
 * OpenAPI for a statement route: its JSON model, or (with `?format=csv`) a CSV text attachment.
 * Clients tell the two apart by media type; the CSV's headers are documented with it.
 */
export const ApiStatementResponse = (
  model: Type<unknown>,
  options: { paginated?: boolean } = {},
): MethodDecorator =>
  applyDecorators(
    ApiExtraModels(model),
    ApiOkResponse({
      description:
        '`application/json` (the default, `?format=json`): the JSON model. `text/csv` (`?format=csv`): ' +
        'the same rows as an RFC 4180 attachment with a header row.',
      content: {
        'application/json': { schema: { $ref: getSchemaPath(model) } },
        'text/csv': {
          schema: { type: 'string', description: 'With ?format=csv: RFC 4180, CRLF, a header row' },
        },
      },
      headers: {
        'Content-Disposition': {
          description: 'CSV only: `attachment; filename="…"`',
          schema: { type: 'string' },
        },
        ...(options.paginated
          ? {
              'X-Next-Cursor': {
                description: 'CSV only: the cursor of the next page; absent on the last page',
                schema: { type: 'string' },
              },
            }
          : {}),
      },
    }),
  );
