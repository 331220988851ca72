import { Injectable } from '@nestjs/common';
import { Tx } from '@/infra/prisma/tx';

export interface StoredResponse {
  fingerprint: string;
  statusCode: number;
  responseBody: unknown;
  expiresAt: Date;
}

@Injectable()
export class IdempotencyRepository {
  constructor(private readonly txHost: Tx) {}

  // Raw SQL: this runs on every idempotent request, and a raw read skips Prisma's query planning.
  async find(scope: string, key: string): Promise<StoredResponse | null> {
    const [row] = await this.txHost.tx.$queryRaw<
      Array<{ fingerprint: string; status_code: number; response_body: unknown; expires_at: Date }>
    >`
      SELECT fingerprint, status_code, response_body, expires_at FROM idempotency_records
      WHERE scope = ${scope} AND key = ${key}`;
    if (row === undefined) return null;
    return {
      fingerprint: row.fingerprint,
      statusCode: row.status_code,
      responseBody: row.response_body,
      expiresAt: row.expires_at,
    };
  }

  /**
   * Inserts the record, or replaces an expired one under the same key. False when a live record
   * exists (a concurrent duplicate committed first).
   */
  async store(record: {
    scope: string;
    key: string;
    fingerprint: string;
    statusCode: number;
    responseBody: unknown;
    at: Date;
    expiresAt: Date;
  }): Promise<boolean> {
    const body = JSON.stringify(record.responseBody ?? null);
    const written = await this.txHost.tx.$executeRaw`
      INSERT INTO idempotency_records (scope, key, fingerprint, status_code, response_body, created_at, expires_at)
      VALUES (${record.scope}, ${record.key}, ${record.fingerprint}, ${record.statusCode}, ${body}::jsonb,
              ${record.at}, ${record.expiresAt})
      ON CONFLICT (scope, key) DO UPDATE
        SET fingerprint = EXCLUDED.fingerprint, status_code = EXCLUDED.status_code,
            response_body = EXCLUDED.response_body, created_at = EXCLUDED.created_at,
            expires_at = EXCLUDED.expires_at
        WHERE idempotency_records.expires_at <= ${record.at}`;
    return written === 1;
  }

  async systemDeleteExpired(now: Date): Promise<number> {
    const { count } = await this.txHost.tx.idempotencyRecord.deleteMany({
      where: { expiresAt: { lt: now } },
    });
    return count;
  }
}
