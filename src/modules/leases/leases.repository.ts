import { Injectable } from '@nestjs/common';
import type {
  LeaseBillingBasis,
  LeaseStatus,
  LeaseTerminationReason,
  OrganisationRole,
} from '@/generated/prisma/enums';
import { afterPosition, NEWEST_FIRST, type KeysetPosition } from '@/infra/pagination/cursor-codec';
import type { LeaseForUsage } from './domain/usage-rules';
import { Tx } from '@/infra/prisma/tx';
import type { ExtensionSupply } from './domain/extension-rules';
import { idleWindowsOf } from '@/modules/markets/domain/order-terms';
import type { Slo } from '@/modules/slo/domain/slo-rules';

export interface LeaseRecord {
  id: string;
  market: { slug: string; currency: string; currencyScale: number };
  offerId: string;
  bidId: string;
  buyerOrganisationId: string;
  providerOrganisationId: string;
  siteId: string;
  gpus: number;
  pricePerGpuHour: bigint;
  durationHours: number;
  billingMode: 'RESERVED' | 'PAY_PER_USE';
  /** Fixed at match (docs/INFERENCE.md "Billing basis"). */
  billingBasis: LeaseBillingBasis;
  feeBps: number;
  payPerUseMinPercent: number;
  periodSeconds: number;
  status: LeaseStatus;
  terminationReason: LeaseTerminationReason | null;
  provisioningDeadline: Date;
  startedAt: Date | null;
  endsAt: Date | null;
  endedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  /** When the provider gave notice to end early (null: it did not). */
  noticeGivenAt: Date | null;
  /** What the provider paid the buyer for ending without notice, minor units (null: none). */
  penalty: bigint | null;
  /** The offer's notice, hours: what the provider owes before ending early. */
  terminationNoticeHours: number;
  /** Hours the buyer's extensions added; `durationHours` includes them. */
  extendedHours: number;
  settlementState: string;
  /** Idle windows (docs/LEASES.md): when the lease's window opens (null: at once), and reclaim. */
  startsAt: Date | null;
  reclaimable: boolean;
  reclaimedAt: Date | null;
  /** The offer's reclaim notice, minutes; null without idle windows. */
  reclaimNoticeMinutes: number | null;
  /** Where the site is: what the buyer may know of it. */
  place: { province: Division; city: Division };
  /** Display names of the two sides: what each may know of the other. */
  providerName: string;
  buyerName: string;
  /** The lease of an inference bid: what per-token billing reads (docs/INFERENCE.md); else null. */
  inference: LeaseInferenceRecord | null;
  /** The SLO copied from the offer at match (docs/SLO.md); null: none. */
  slo: Slo | null;
}

export interface LeaseExtensionRecord {
  number: number;
  hours: number;
  pricePerGpuHour: bigint;
  amount: bigint;
  previousEndsAt: Date;
  endsAt: Date;
  createdAt: Date;
}

export interface LeaseInferenceRecord {
  modelId: string;
  model: string;
  /** Minor units per million tokens, prompt and output alike. */
  pricePerMillionTokens: bigint;
  outputTokensPerSecond: number;
  promptTokensPerSecond: number;
  /** Per-token billing's take-or-pay share (docs/INFERENCE.md "Per-token billing"); null: billed by GPU-hours. */
  takeOrPayPercent: number | null;
}

export interface Division {
  code: string;
  nameZh: string;
  namePinyin: string;
}

export interface UsageRecord {
  leaseId: string;
  periodStart: Date;
  gpuSeconds: bigint;
  tokens: bigint | null;
  createdAt: Date;
}

const USAGE_SELECT = {
  leaseId: true,
  periodStart: true,
  gpuSeconds: true,
  tokens: true,
  createdAt: true,
} as const;

const LEASE_SELECT = {
  id: true,
  market: { select: { slug: true, currency: true, currencyScale: true } },
  offerId: true,
  bidId: true,
  buyerOrganisationId: true,
  providerOrganisationId: true,
  siteId: true,
  gpus: true,
  pricePerGpuHour: true,
  durationHours: true,
  billingMode: true,
  feeBps: true,
  payPerUseMinPercent: true,
  periodSeconds: true,
  status: true,
  terminationReason: true,
  provisioningDeadline: true,
  startedAt: true,
  endsAt: true,
  endedAt: true,
  createdAt: true,
  updatedAt: true,
  inferenceModelId: true,
  inferenceModel: { select: { slug: true } },
  inferencePricePerMillionTokens: true,
  inferenceOutputTokensPerSecond: true,
  inferencePromptTokensPerSecond: true,
  inferenceTakeOrPayPercent: true,
  billingBasis: true,
  noticeGivenAt: true,
  penalty: true,
  extendedHours: true,
  settlementState: true,
  startsAt: true,
  reclaimable: true,
  reclaimedAt: true,
  slo: true,
  offer: {
    select: {
      terminationNoticeHours: true,
      reclaimNoticeMinutes: true,
      organisation: { select: { name: true } },
      site: {
        select: {
          province: { select: { code: true, nameZh: true, namePinyin: true } },
          city: { select: { code: true, nameZh: true, namePinyin: true } },
        },
      },
    },
  },
  bid: { select: { organisation: { select: { name: true } } } },
} as const;

type LeaseRow = Omit<
  LeaseRecord,
  | 'place'
  | 'providerName'
  | 'buyerName'
  | 'inference'
  | 'terminationNoticeHours'
  | 'reclaimNoticeMinutes'
  | 'slo'
> & {
  slo: unknown;
  offer: {
    terminationNoticeHours: number;
    reclaimNoticeMinutes: number | null;
    organisation: { name: string };
    site: { province: Division; city: Division };
  };
  bid: { organisation: { name: string } };
  inferenceModelId: string | null;
  inferenceModel: { slug: string } | null;
  inferencePricePerMillionTokens: bigint | null;
  inferenceOutputTokensPerSecond: number | null;
  inferencePromptTokensPerSecond: number | null;
  inferenceTakeOrPayPercent: number | null;
};

const toRecord = ({
  offer,
  bid,
  inferenceModelId,
  inferenceModel,
  inferencePricePerMillionTokens,
  inferenceOutputTokensPerSecond,
  inferencePromptTokensPerSecond,
  inferenceTakeOrPayPercent,
  slo,
  ...row
}: LeaseRow): LeaseRecord => ({
  ...row,
  // Written by the match trigger from the offer's SLO, which parseOfferSlo checked at placement.
  slo: (slo ?? null) as Slo | null,
  place: { province: offer.site.province, city: offer.site.city },
  providerName: offer.organisation.name,
  buyerName: bid.organisation.name,
  inference:
    inferenceModelId === null ||
    inferenceModel === null ||
    inferencePricePerMillionTokens === null ||
    inferenceOutputTokensPerSecond === null ||
    inferencePromptTokensPerSecond === null
      ? null
      : {
          modelId: inferenceModelId,
          model: inferenceModel.slug,
          pricePerMillionTokens: inferencePricePerMillionTokens,
          outputTokensPerSecond: inferenceOutputTokensPerSecond,
          promptTokensPerSecond: inferencePromptTokensPerSecond,
          takeOrPayPercent: inferenceTakeOrPayPercent,
        },
  terminationNoticeHours: offer.terminationNoticeHours,
  reclaimNoticeMinutes: offer.reclaimNoticeMinutes,
});

/** The column naming the organisation on the lease's side it plays. */
const sideOf = (role: OrganisationRole): 'buyerOrganisationId' | 'providerOrganisationId' =>
  role === 'BUYER' ? ('buyerOrganisationId' as const) : ('providerOrganisationId' as const);

interface SystemLeaseRow {
  id: string;
  market: string;
  currency: string;
  offer_id: string;
  buyer_organisation_id: string;
  provider_organisation_id: string;
  gpus: number;
  price_per_gpu_hour: bigint;
  duration_hours: number;
  started_at: Date | null;
  ended_at: Date;
  termination_reason: LeaseTerminationReason | null;
}

export interface ClosedLease {
  id: string;
  market: string;
  currency: string;
  offerId: string;
  buyerOrganisationId: string;
  providerOrganisationId: string;
  gpus: number;
  pricePerGpuHour: bigint;
  durationHours: number;
  startedAt: Date | null;
  endedAt: Date;
  /** Null when it ran to its end (ENDED). */
  terminationReason: LeaseTerminationReason | null;
}

const toClosed = (row: SystemLeaseRow): ClosedLease => ({
  id: row.id,
  market: row.market,
  currency: row.currency,
  offerId: row.offer_id,
  buyerOrganisationId: row.buyer_organisation_id,
  providerOrganisationId: row.provider_organisation_id,
  gpus: row.gpus,
  pricePerGpuHour: row.price_per_gpu_hour,
  durationHours: row.duration_hours,
  startedAt: row.started_at,
  endedAt: row.ended_at,
  terminationReason: row.termination_reason,
});

/**
 * Leases. Tenant methods take the organisation and the side it plays (a buyer reads leases it
 * buys, a provider those it provides); `system…` methods are the worker's time-driven moves.
 */
@Injectable()
export class LeasesRepository {
  constructor(private readonly txHost: Tx) {}

  private get tx(): Tx['tx'] {
    return this.txHost.tx;
  }

  async listLeases(
    organisationId: string,
    role: OrganisationRole,
    filter: { status?: LeaseStatus; marketId?: string },
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<LeaseRecord[]> {
    const rows = await this.tx.lease.findMany({
      where: {
        [sideOf(role)]: organisationId,
        ...(filter.status === undefined ? {} : { status: filter.status }),
        ...(filter.marketId === undefined ? {} : { marketId: filter.marketId }),
        ...afterPosition(after),
      },
      select: LEASE_SELECT,
      orderBy: NEWEST_FIRST,
      take: limit + 1,
    });
    return rows.map(toRecord);
  }

  async findLease(organisationId: string, role: OrganisationRole, id: string): Promise<LeaseRecord | null> {
    const row = await this.tx.lease.findFirst({
      where: { id, [sideOf(role)]: organisationId },
      select: LEASE_SELECT,
    });
    return row === null ? null : toRecord(row);
  }

  /** Any lease, for a platform admin. */
  async adminFindLease(id: string): Promise<LeaseRecord | null> {
    const row = await this.tx.lease.findUnique({ where: { id }, select: LEASE_SELECT });
    return row === null ? null : toRecord(row);
  }

  /** The sealed access details of a lease the organisation buys (null when none yet). */
  async findSealedAccess(buyerOrganisationId: string, id: string): Promise<Uint8Array | null> {
    const row = await this.tx.lease.findFirst({
      where: { id, buyerOrganisationId },
      select: { accessDetails: true },
    });
    return row?.accessDetails ?? null;
  }

  /**
   * Stores access details and starts the lease: only while SCHEDULED and before its deadline.
   * The lease runs its whole duration from now. False when any condition failed.
   */
  async startLease(
    providerOrganisationId: string,
    id: string,
    sealed: Uint8Array,
    now: Date,
  ): Promise<boolean> {
    const count = await this.tx.$executeRaw`
      UPDATE leases SET status = 'ACTIVE', access_details = ${Buffer.from(sealed)}, started_at = ${now},
             ends_at = ${now}::timestamptz + make_interval(hours => duration_hours), updated_at = ${now}
      WHERE id = ${id}::uuid AND provider_organisation_id = ${providerOrganisationId}::uuid
        AND status = 'SCHEDULED' AND provisioning_deadline > ${now}
        AND (starts_at IS NULL OR starts_at <= ${now})`;
    return count === 1;
  }

  /**
   * The provider's lease, locked until the transaction ends, as a usage report needs it: the
   * settlement job takes the same lock, so a report and its period's settlement never cross.
   */
  async lockForUsage(
    providerOrganisationId: string,
    id: string,
  ): Promise<(LeaseForUsage & { id: string; buyerOrganisationId: string }) | null> {
    const rows = await this.tx.$queryRaw<
      Array<{
        id: string;
        buyer_organisation_id: string;
        status: LeaseForUsage['status'];
        billing_mode: LeaseForUsage['billingMode'];
        gpus: number;
        period_seconds: number;
        started_at: Date | null;
        ends_at: Date | null;
        ended_at: Date | null;
        settled_periods: number;
      }>
    >`
      SELECT id, buyer_organisation_id, status::text AS status, billing_mode::text AS billing_mode, gpus,
             period_seconds, started_at, ends_at, ended_at, settled_periods
      FROM leases WHERE id = ${id}::uuid AND provider_organisation_id = ${providerOrganisationId}::uuid
      FOR UPDATE`;
    const row = rows[0];
    if (row === undefined) return null;
    return {
      id: row.id,
      buyerOrganisationId: row.buyer_organisation_id,
      status: row.status,
      billingMode: row.billing_mode,
      gpus: row.gpus,
      periodSeconds: row.period_seconds,
      startedAt: row.started_at,
      endAt: row.status === 'ACTIVE' ? row.ends_at : (row.ended_at ?? row.ends_at),
      settledPeriods: row.settled_periods,
    };
  }

  async findUsage(leaseId: string, periodStart: Date): Promise<UsageRecord | null> {
    return this.tx.usageReport.findUnique({
      where: { leaseId_periodStart: { leaseId, periodStart } },
      select: USAGE_SELECT,
    });
  }

  async createUsage(
    leaseId: string,
    usage: { periodStart: Date; gpuSeconds: bigint; tokens: bigint | null; at: Date },
  ): Promise<UsageRecord> {
    return this.tx.usageReport.create({
      data: {
        leaseId,
        periodStart: usage.periodStart,
        gpuSeconds: usage.gpuSeconds,
        tokens: usage.tokens,
        createdAt: usage.at,
      },
      select: USAGE_SELECT,
    });
  }

  /** Any lease's row lock, for an admin deciding something of it (a failure report). */
  async adminLockLease(id: string): Promise<void> {
    await this.tx.$queryRawUnsafe(`SELECT id FROM leases WHERE id = $1::uuid FOR UPDATE`, id);
  }

  /**
   * Locks a lease of the organisation's side until the transaction ends, so that an early end
   * reads it as no other end can change it (false when it is not the organisation's).
   */
  async lockLease(organisationId: string, role: OrganisationRole, id: string): Promise<boolean> {
    const column = role === 'BUYER' ? 'buyer_organisation_id' : 'provider_organisation_id';
    const rows = await this.tx.$queryRawUnsafe<Array<{ id: string }>>(
      `SELECT id FROM leases WHERE id = $1::uuid AND ${column} = $2::uuid FOR UPDATE`,
      id,
      organisationId,
    );
    return rows.length === 1;
  }

  /**
   * The provider's notice: an ACTIVE lease's end moves to `endsAt` (earlier only), and when the
   * notice was given is recorded; false when it was not so.
   */
  async giveNotice(providerOrganisationId: string, id: string, endsAt: Date, now: Date): Promise<boolean> {
    const { count } = await this.tx.lease.updateMany({
      where: { id, providerOrganisationId, status: 'ACTIVE', endsAt: { gt: endsAt } },
      data: { endsAt, noticeGivenAt: now, updatedAt: now },
    });
    return count === 1;
  }

  /**
   * The provider's reclaim: a reclaimable ACTIVE lease's end moves to `endsAt` (earlier only),
   * and when it was reclaimed is recorded; false when it was not so.
   */
  async reclaimLease(providerOrganisationId: string, id: string, endsAt: Date, now: Date): Promise<boolean> {
    const { count } = await this.tx.lease.updateMany({
      where: { id, providerOrganisationId, status: 'ACTIVE', reclaimable: true, endsAt: { gt: endsAt } },
      data: { endsAt, reclaimedAt: now, updatedAt: now },
    });
    return count === 1;
  }

  /** Moves an ACTIVE lease's end earlier (never later); false when it was not so. */
  async shortenLease(buyerOrganisationId: string, id: string, endsAt: Date, now: Date): Promise<boolean> {
    const { count } = await this.tx.lease.updateMany({
      where: { id, buyerOrganisationId, status: 'ACTIVE', endsAt: { gt: endsAt } },
      data: { endsAt, updatedAt: now },
    });
    return count === 1;
  }

  /**
   * The offer a buyer's lease came from, row-locked until the transaction ends, with what an
   * extension checks: the lock serialises the extension with the matching commit, a cancel or an
   * amendment of that offer, which all update its row (docs/LEASES.md "Extending a lease").
   */
  async lockExtensionSupply(offerId: string): Promise<ExtensionSupply | null> {
    const rows = await this.tx.$queryRaw<
      Array<{
        status: ExtensionSupply['status'];
        price_per_gpu_hour: bigint;
        available_until: Date;
        provider_status: string;
        market_status: string;
        currency_scale: number;
        idle_windows: unknown;
        reclaim_notice_minutes: number | null;
      }>
    >`
      SELECT o.status::text AS status, o.price_per_gpu_hour, o.available_until,
             org.status::text AS provider_status, m.status::text AS market_status, m.currency_scale,
             o.idle_windows, o.reclaim_notice_minutes
      FROM offers o JOIN organisations org ON org.id = o.organisation_id JOIN markets m ON m.id = o.market_id
      WHERE o.id = ${offerId}::uuid
      FOR UPDATE OF o`;
    const row = rows[0];
    if (row === undefined) return null;
    return {
      status: row.status,
      pricePerGpuHour: row.price_per_gpu_hour,
      availableUntil: row.available_until,
      providerStatus: row.provider_status,
      marketStatus: row.market_status,
      currencyScale: row.currency_scale,
      idleWindows: idleWindowsOf(row.idle_windows, row.reclaim_notice_minutes),
    };
  }

  /**
   * Moves an ACTIVE lease's end later by an extension and records it (append-only), in one
   * statement; false when the lease is no longer as the caller read it (status, end).
   */
  async extendLease(
    buyerOrganisationId: string,
    id: string,
    extension: {
      previousEndsAt: Date;
      endsAt: Date;
      hours: number;
      pricePerGpuHour: bigint;
      amount: bigint;
      requestedBy: { kind: 'user' | 'api_key'; id: string };
      at: Date;
    },
  ): Promise<{ number: number } | null> {
    const rows = await this.tx.$queryRaw<Array<{ number: number }>>`
      WITH moved AS (
        UPDATE leases SET ends_at = ${extension.endsAt}, duration_hours = duration_hours + ${extension.hours}::int,
               extended_hours = extended_hours + ${extension.hours}::int, updated_at = ${extension.at}
        WHERE id = ${id}::uuid AND buyer_organisation_id = ${buyerOrganisationId}::uuid AND status = 'ACTIVE'
          AND ends_at = ${extension.previousEndsAt} AND notice_given_at IS NULL
        RETURNING id),
      numbered AS (
        SELECT moved.id, COALESCE((SELECT max(e.number) FROM lease_extensions e WHERE e.lease_id = moved.id), 0) + 1 AS number
        FROM moved)
      INSERT INTO lease_extensions (id, lease_id, number, hours, price_per_gpu_hour, amount, previous_ends_at, ends_at,
                                    requested_by_kind, requested_by_id, created_at)
      SELECT gen_random_uuid(), numbered.id, numbered.number, ${extension.hours}::int, ${extension.pricePerGpuHour}::bigint,
             ${extension.amount}::bigint, ${extension.previousEndsAt}, ${extension.endsAt}, ${extension.requestedBy.kind},
             ${extension.requestedBy.id}::uuid, ${extension.at}
      FROM numbered
      RETURNING number`;
    return rows[0] ?? null;
  }

  /** A lease's extensions, oldest first. */
  async listExtensions(leaseId: string): Promise<LeaseExtensionRecord[]> {
    return this.tx.leaseExtension.findMany({
      where: { leaseId },
      orderBy: { number: 'asc' },
      select: {
        number: true,
        hours: true,
        pricePerGpuHour: true,
        amount: true,
        previousEndsAt: true,
        endsAt: true,
        createdAt: true,
      },
    });
  }

  /** Terminates a live lease on one side's request; the closed lease, or null if not live. */
  async terminateLease(
    organisationId: string,
    role: OrganisationRole,
    id: string,
    reason: LeaseTerminationReason,
    now: Date,
    penalty: bigint | null = null,
  ): Promise<ClosedLease | null> {
    const column = role === 'BUYER' ? 'buyer_organisation_id' : 'provider_organisation_id';
    const rows = await this.tx.$queryRawUnsafe<SystemLeaseRow[]>(
      `UPDATE leases l SET status = 'TERMINATED', termination_reason = $3::"LeaseTerminationReason",
              ended_at = $4, updated_at = $4, penalty = $5::bigint
       FROM markets m
       WHERE l.id = $1::uuid AND l.${column} = $2::uuid AND l.status IN ('SCHEDULED', 'ACTIVE') AND m.id = l.market_id
       RETURNING ${RETURNING}`,
      id,
      organisationId,
      reason,
      now,
      penalty,
    );
    return rows[0] === undefined ? null : toClosed(rows[0]);
  }

  /** Terminates a live lease by a platform admin's decision; the closed lease, or null if not live. */
  async adminTerminateLease(id: string, now: Date): Promise<ClosedLease | null> {
    const rows = await this.tx.$queryRawUnsafe<SystemLeaseRow[]>(
      `UPDATE leases l SET status = 'TERMINATED', termination_reason = 'ADMIN', ended_at = $2, updated_at = $2
       FROM markets m
       WHERE l.id = $1::uuid AND l.status IN ('SCHEDULED', 'ACTIVE') AND m.id = l.market_id
       RETURNING ${RETURNING}`,
      id,
      now,
    );
    return rows[0] === undefined ? null : toClosed(rows[0]);
  }

  /** SCHEDULED leases past their provisioning deadline: TERMINATED(PROVIDER_FAILURE). */
  async systemFailProvisioning(now: Date, limit: number): Promise<ClosedLease[]> {
    const rows = await this.tx.$queryRawUnsafe<SystemLeaseRow[]>(
      `WITH due AS (
         SELECT id FROM leases WHERE status = 'SCHEDULED' AND provisioning_deadline <= $1
         ORDER BY provisioning_deadline LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE leases l SET status = 'TERMINATED', termination_reason = 'PROVIDER_FAILURE',
              ended_at = $1, updated_at = $1
       FROM due, markets m WHERE l.id = due.id AND m.id = l.market_id
       RETURNING ${RETURNING}`,
      now,
      limit,
    );
    return rows.map(toClosed);
  }

  /**
   * ACTIVE leases whose end has come: ENDED at their end, or TERMINATED(PROVIDER_NOTICE) when
   * the end was the provider's notice.
   */
  async systemEndDue(now: Date, limit: number): Promise<ClosedLease[]> {
    const rows = await this.tx.$queryRawUnsafe<SystemLeaseRow[]>(
      `WITH due AS (
         SELECT id FROM leases WHERE status = 'ACTIVE' AND ends_at <= $1
         ORDER BY ends_at LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE leases l
       SET status = (CASE WHEN l.notice_given_at IS NULL AND l.reclaimed_at IS NULL THEN 'ENDED'
                          ELSE 'TERMINATED' END)::"LeaseStatus",
           termination_reason = (CASE WHEN l.reclaimed_at IS NOT NULL THEN 'RECLAIMED'
                                      WHEN l.notice_given_at IS NOT NULL THEN 'PROVIDER_NOTICE'
                                      END)::"LeaseTerminationReason",
           ended_at = l.ends_at, updated_at = $1
       FROM due, markets m WHERE l.id = due.id AND m.id = l.market_id
       RETURNING ${RETURNING}`,
      now,
      limit,
    );
    return rows.map(toClosed);
  }
}

const RETURNING = `l.id, m.slug AS market, m.currency, l.offer_id, l.buyer_organisation_id, l.provider_organisation_id,
  l.gpus, l.price_per_gpu_hour, l.duration_hours, l.started_at, l.ended_at, l.termination_reason::text AS termination_reason`;
