import type { ClsService } from 'nestjs-cls';

/** An idempotency record ready to insert: the response of one request under its key. */
export interface IdempotencyRecordDraft {
  scope: string;
  key: string;
  fingerprint: string;
  statusCode: number;
  responseBody: unknown;
  at: Date;
  expiresAt: Date;
}

const CLS_KEY = 'idempotency:deferred-record';

/**
 * The record of an idempotent request whose effect commits in a transaction the request does not
 * own (a group commit of placements, docs/ARCHITECTURE.md): the interceptor puts it in the
 * request's context, the committer claims it and inserts it in that transaction, so effect and
 * record still commit together. Unclaimed, nothing is stored.
 */
export class DeferredIdempotencyRecord {
  private claimedBy: ((body: unknown, at: Date) => IdempotencyRecordDraft) | null = null;

  constructor(private readonly draft: (body: unknown, at: Date) => IdempotencyRecordDraft) {}

  get claimed(): boolean {
    return this.claimedBy !== null;
  }

  /** Taken once, by the unit of work that will insert the record with the effect. */
  claim(): (body: unknown, at: Date) => IdempotencyRecordDraft {
    if (this.claimedBy !== null) throw new Error('idempotency record claimed twice');
    this.claimedBy = this.draft;
    return this.draft;
  }

  put(cls: ClsService): void {
    cls.set(CLS_KEY, this);
  }

  /** The current request's deferred record, if its route defers one; claims it. */
  static claimFrom(cls: ClsService): ((body: unknown, at: Date) => IdempotencyRecordDraft) | null {
    if (!cls.isActive()) return null;
    const deferred = cls.get<DeferredIdempotencyRecord | undefined>(CLS_KEY);
    return deferred === undefined || deferred.claimed ? null : deferred.claim();
  }
}
