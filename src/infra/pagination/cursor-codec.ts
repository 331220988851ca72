import { Injectable } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import { decodeCursor, encodeCursor, PAGE_SIZE_DEFAULT } from '@/shared/cursor';
import { AppConfig } from '@/infra/config/app-config';

/** Keyset position: newest first, ties broken by id. */
export interface KeysetPosition {
  createdAt: Date;
  id: string;
}

/**
 * Signs and checks the cursors of every list: keyset pagination on (createdAt, id) descending,
 * so pages are stable while rows are added, and a forged cursor is a 400 before any query.
 */
@Injectable()
export class CursorCodec {
  private readonly key: Buffer;

  constructor(config: AppConfig) {
    // A key of its own, derived so that cursors never double as any other token.
    this.key = createHmac('sha256', config.secrets.JWT_SECRET).update('pagination-cursor-v1').digest();
  }

  limit(requested: number | undefined): number {
    return requested ?? PAGE_SIZE_DEFAULT;
  }

  decode(cursor: string | undefined): KeysetPosition | undefined {
    if (cursor === undefined) return undefined;
    const position = decodeCursor(cursor, this.key, ['t', 'id']);
    return { createdAt: new Date(Number(position.t)), id: String(position.id) };
  }

  /** Builds a page from `limit + 1` rows fetched newest first. */
  page<R extends { createdAt: Date; id: string }, T>(
    rows: R[],
    limit: number,
    map: (row: R) => T,
  ): { data: T[]; nextCursor: string | null } {
    const more = rows.length > limit;
    const pageRows = more ? rows.slice(0, limit) : rows;
    const last = pageRows[pageRows.length - 1];
    return {
      data: pageRows.map(map),
      nextCursor: more && last ? encodeCursor({ t: last.createdAt.getTime(), id: last.id }, this.key) : null,
    };
  }
}

/** Prisma `where` fragment for rows after a keyset position (createdAt desc, id desc). */
export function afterPosition(position: KeysetPosition | undefined): object {
  if (!position) return {};
  return {
    OR: [
      { createdAt: { lt: position.createdAt } },
      { createdAt: position.createdAt, id: { lt: position.id } },
    ],
  };
}

export const NEWEST_FIRST = [{ createdAt: 'desc' as const }, { id: 'desc' as const }];
