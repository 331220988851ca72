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

/** Which record a request would replay: its caller's scope, its key, and its request's fingerprint. */
export interface IdempotencyIdentity {
  scope: string;
  key: string;
  fingerprint: string;
}

/** What the unit of work takes from a request: the identity to look its record up by, and the draft. */
export interface ClaimedIdempotencyRecord {
  identity: IdempotencyIdentity;
  draft: (body: unknown, at: Date) => IdempotencyRecordDraft;
}

const CLS_KEY = 'idempotency:deferred-record';

/**
 * The record of an idempotent request whose effect commits in a transaction the request does not
 * own (a group commit of placements, docs/ARCHITECTURE.md): the interceptor puts it in the
 * request's context, the committer claims it, looks its key up in that transaction (answering a
 * stored response with `IdempotentReplay`) and inserts it with the effect, so effect and record
 * still commit together. Unclaimed, nothing is stored.
 */
export class DeferredIdempotencyRecord {
  private claimedBy: ClaimedIdempotencyRecord | null = null;

  constructor(
    private readonly identity: IdempotencyIdentity,
    private readonly draft: (body: unknown, at: Date) => IdempotencyRecordDraft,
  ) {}

  get claimed(): boolean {
    return this.claimedBy !== null;
  }

  /** Taken once, by the unit of work that will look the record up and insert it with the effect. */
  claim(): ClaimedIdempotencyRecord {
    if (this.claimedBy !== null) throw new Error('idempotency record claimed twice');
    this.claimedBy = { identity: this.identity, draft: this.draft };
    return this.claimedBy;
  }

  put(cls: ClsService): void {
    cls.set(CLS_KEY, this);
  }

  /** The current request's deferred record, if its route defers one; claims it. */
  static claimFrom(cls: ClsService): ClaimedIdempotencyRecord | null {
    if (!cls.isActive()) return null;
    const deferred = cls.get<DeferredIdempotencyRecord | undefined>(CLS_KEY);
    return deferred === undefined || deferred.claimed ? null : deferred.claim();
  }
}
