/**
 * The payload of every event type, as producers record it and webhooks and SSE deliver it.
 * JSON-safe only: money and 64-bit counts as decimal strings, instants as ISO 8601 strings.
 * Each field's doc comment is its row in docs/EVENTS.md (`npm run docs:events` writes the tables).
 */

/** `offer.placed`: a provider's offer is accepted. */
export type OfferPlacedPayload = {
  /** the offer's id */
  offerId: string;
  /** the provider organisation that placed it */
  organisationId: string;
  /** market slug */
  market: string;
  /** the site the GPUs are in */
  siteId: string;
  /** GPUs offered */
  gpus: number;
  /** asking price per GPU-hour, a decimal string in the market's currency */
  pricePerGpuHour: string;
  /** start of the availability window (ISO 8601) */
  availableFrom: string;
  /** end of the availability window (ISO 8601) */
  availableUntil: string;
  /** recurring idle windows in the site's time zone and the reclaim notice in minutes (docs/LEASES.md "Idle windows"); null: the whole availability window */
  idleWindows: {
    timeZone: string;
    windows: { days: string[]; start: string; end: string }[];
    reclaimNoticeMinutes: number;
  } | null;
  /** the order's time priority in the book, a decimal string */
  seq: string;
};

/** `offer.amended`: price or quantity of an offer changes (no event when nothing changes). */
export type OfferAmendedPayload = {
  /** the offer's id */
  offerId: string;
  /** the provider organisation that owns it */
  organisationId: string;
  /** market slug */
  market: string;
  /** GPUs offered after the amendment */
  gpus: number;
  /** asking price per GPU-hour after the amendment, a decimal string */
  pricePerGpuHour: string;
  /** the order's time priority after the amendment, a decimal string */
  seq: string;
  /** `{ gpus, pricePerGpuHour, seq }` before the amendment */
  previous: { gpus: number; pricePerGpuHour: string; seq: string };
};

/** `offer.cancelled`: an offer is cancelled (only on the transition). */
export type OfferCancelledPayload = {
  /** the offer's id */
  offerId: string;
  /** the provider organisation that owns it */
  organisationId: string;
  /** market slug */
  market: string;
  /** GPUs the offer held */
  gpus: number;
  /** GPUs on leases, which run on */
  leasedGpus: number;
  /** unleased GPUs withdrawn from the book */
  withdrawnGpus: number;
  /** `ORGANISATION_SUSPENDED` when a suspension cancelled it; absent when the provider did */
  reason?: string;
};

/** `offer.serving_changed`: what an offer serves may have changed (docs/INFERENCE.md "Serving profiles"). */
export type OfferServingChangedPayload = {
  /** the offer's id */
  offerId: string;
  /** the provider organisation that owns it */
  organisationId: string;
  /** market slug */
  market: string;
  /** `DECLARED`: the provider declared, changed or removed serving profiles; `REVIEWED`: an admin accepted or rejected a flagged one; `DELIVERED`: delivered usage confirmed a higher multiple of the reference (docs/INFERENCE.md "Delivery confirms a declaration") */
  cause: 'DECLARED' | 'REVIEWED' | 'DELIVERED';
  /** the models the offer serves now, by slug: its usable profiles (not flagged, or accepted by an admin, with a reference), as matching reads them */
  serves: string[];
};

/** `bid.placed`: a buyer's bid is accepted. */
export type BidPlacedPayload = {
  /** the bid's id */
  bidId: string;
  /** the buyer organisation that placed it */
  organisationId: string;
  /** market slug */
  market: string;
  /** GPUs wanted */
  gpus: number;
  /** highest price per GPU-hour the buyer pays, a decimal string */
  maxPricePerGpuHour: string;
  /** lease length wanted, in hours */
  durationHours: number;
  /** when the bid expires (ISO 8601) */
  expiresAt: string;
  /** the order's time priority in the book, a decimal string */
  seq: string;
  /** an automatic re-placement: the lease whose end placed it (docs/LEASES.md) */
  replacesLeaseId?: string;
  /** an inference bid's own terms, absent on a GPU bid (docs/INFERENCE.md "Inference bids"): the model's slug, the output and prompt tokens/s asked, the TTFT p95 SLO in ms, the cap per million tokens (a decimal string), the take-or-pay share in percent and the tokens an hour it commits to (a decimal string); `gpus` and `maxPricePerGpuHour` are what they were sized into */
  inference?: {
    model: string;
    outputTokensPerSecond: number;
    promptTokensPerSecond: number;
    ttftP95Ms: number;
    maxPricePerMillionTokens: string;
    takeOrPayPercent: number;
    minimumTokensPerHour: string;
  };
};

/** `bid.replacement_refused`: an automatic re-placement was refused; the plan makes no more for that lease. */
export type BidReplacementRefusedPayload = {
  /** the bid whose lease ended */
  bidId: string;
  /** the buyer organisation that owns it */
  organisationId: string;
  /** the lease whose end asked for the re-placement */
  leaseId: string;
  /** the refusal's code: `REPLACEMENT_LIMIT` (count, budget or stopped), `INSUFFICIENT_FUNDS`, `SPEND_CAP_EXCEEDED`, `MARKET_PAUSED`, `OPEN_ORDER_LIMIT`, `ORGANISATION_SUSPENDED`, ... */
  reason: string;
  /** the refusal, as a placement would have answered it */
  message: string;
};

/** `bid.cancelled`: a bid is cancelled (only on the transition). */
export type BidCancelledPayload = {
  /** the bid's id */
  bidId: string;
  /** the buyer organisation that owns it */
  organisationId: string;
  /** market slug */
  market: string;
  /** GPUs the bid wanted */
  gpus: number;
  /** GPUs already filled, whose leases run on */
  filledGpus: number;
  /** unfilled GPUs cancelled */
  cancelledGpus: number;
  /** `ORGANISATION_SUSPENDED` when a suspension cancelled it; absent when the buyer did */
  reason?: string;
};

/** `order.expired`: an offer or bid reaches its expiry. */
export type OrderExpiredPayload = {
  /** `bid` or `offer` */
  orderType: 'bid' | 'offer';
  /** the bid's or offer's id */
  orderId: string;
  /** the organisation that owns the order */
  organisationId: string;
  /** market slug */
  market: string;
  /** GPUs of the order */
  gpus: number;
  /** bids only: GPUs filled before expiry */
  filledGpus?: number;
  /** offers only: GPUs on leases before expiry */
  leasedGpus?: number;
  /** GPUs that expired unfilled or unleased */
  expiredGpus: number;
};

/** `order.filled`: a matching run fills an order. */
export type OrderFilledPayload = {
  /** `bid` or `offer` */
  orderType: 'bid' | 'offer';
  /** the bid's or offer's id */
  orderId: string;
  /** the organisation that owns the order */
  organisationId: string;
  /** market slug */
  market: string;
  /** GPUs of the order */
  gpus: number;
  /** GPUs filled by this run */
  filledGpus: number;
  /** bids only: GPUs filled in all */
  totalFilledGpus?: number;
  /** offers only: GPUs on leases in all */
  leasedGpus?: number;
  /** the order's status after the run */
  status: string;
  /** the leases this run created for the order */
  leaseIds: string[];
};

/** `lease.created`: a match creates a lease (SCHEDULED). */
export type LeaseCreatedPayload = {
  /** the lease's id */
  leaseId: string;
  /** market slug */
  market: string;
  /** the buyer's bid (buyer only) */
  bidId: string;
  /** the provider's offer (provider only) */
  offerId: string;
  /** the buyer (buyer only) */
  buyerOrganisationId: string;
  /** the provider (provider only) */
  providerOrganisationId: string;
  /** the site the GPUs are in (provider only) */
  siteId: string;
  /** GPUs leased */
  gpus: number;
  /** clearing price per GPU-hour, a decimal string */
  pricePerGpuHour: string;
  /** lease length in hours */
  durationHours: number;
  /** `RESERVED` or `PAY_PER_USE` */
  billingMode: string;
  /** when access must be handed over, else the lease terminates as a provider failure (ISO 8601) */
  provisioningDeadline: string;
  /** when the lease's idle window opens: it stays SCHEDULED until then (ISO 8601); null: access may be handed over at once */
  startsAt: string | null;
  /** whether the provider may reclaim the lease at the offer's reclaim notice, without penalty (an interruptible bid on idle windows) */
  reclaimable: boolean;
  /** a lease of an inference bid, billed per token; absent on a GPU lease (docs/INFERENCE.md "Inference bids"): the model's slug, the price per million tokens the trade price implies (a decimal string), this lease's share of the bid's output and prompt tokens/s, the bid's TTFT p95 SLO in ms, the GPUs per replica of the offer's serving profile, the take-or-pay share in percent and the tokens an hour it commits to (a decimal string) */
  inference?: {
    model: string;
    pricePerMillionTokens: string;
    outputTokensPerSecond: number;
    promptTokensPerSecond: number;
    ttftP95Ms: number;
    gpusPerReplica: number;
    takeOrPayPercent: number;
    minimumTokensPerHour: string;
  };
};

/** `lease.started`: the provider handed over access; the lease is ACTIVE and billing starts. */
export type LeaseStartedPayload = {
  /** the lease's id */
  leaseId: string;
  /** market slug */
  market: string;
  /** the buyer (buyer only) */
  buyerOrganisationId: string;
  /** the provider (provider only) */
  providerOrganisationId: string;
  /** GPUs leased */
  gpus: number;
  /** when access was handed over (ISO 8601) */
  startedAt: string;
  /** when the lease ends (ISO 8601) */
  endsAt: string | null;
};

/** `lease.ended`: an ACTIVE lease reached its end (the sweep); its GPUs are back on the offer. */
export type LeaseEndedPayload = {
  /** the lease's id */
  leaseId: string;
  /** market slug */
  market: string;
  /** the provider's offer the GPUs return to (provider only) */
  offerId: string;
  /** the buyer (buyer only) */
  buyerOrganisationId: string;
  /** the provider (provider only) */
  providerOrganisationId: string;
  /** GPUs leased */
  gpus: number;
  /** when access was handed over (ISO 8601); null when it never started */
  startedAt: string | null;
  /** when the lease ended (ISO 8601) */
  endedAt: string;
};

/** `lease.terminated`: a lease ended early; as `lease.ended`, plus `reason`. */
export type LeaseTerminatedPayload = LeaseEndedPayload & {
  /** `PROVIDER_FAILURE` (no access by the deadline, full refund), `BUYER_REQUEST`, `PROVIDER_REQUEST` (the provider ended it without notice), `PROVIDER_NOTICE` (it reached the end of the provider's notice), `ADMIN` or `RECLAIMED` (the provider reclaimed an interruptible lease on idle windows: at the end of the reclaim notice, or before its window opened with a full refund; no penalty) */
  reason: string;
  /** the penalty the provider paid the buyer for ending an ACTIVE lease without notice, a decimal string in the market currency (`PROVIDER_REQUEST` on an ACTIVE lease only) */
  penalty?: string;
};

/** `lease.extended`: the buyer extended an ACTIVE lease; it now ends at `endsAt`. */
export type LeaseExtendedPayload = {
  /** the lease's id */
  leaseId: string;
  /** market slug */
  market: string;
  /** the buyer (buyer only) */
  buyerOrganisationId: string;
  /** the provider (provider only) */
  providerOrganisationId: string;
  /** GPUs leased */
  gpus: number;
  /** 1 for the lease's first extension, then 2, ... */
  extension: number;
  /** hours this extension added */
  hours: number;
  /** the lease's trade price per GPU-hour, which the added hours are sold at (decimal string) */
  pricePerGpuHour: string;
  /** the lease's duration now, extensions included */
  durationHours: number;
  /** when the lease was to end before (ISO 8601) */
  previousEndsAt: string;
  /** when the lease now ends (ISO 8601) */
  endsAt: string;
};

/** `lease.failure_reported`: the buyer reported the provider failed. */
export type LeaseFailureReportedPayload = {
  /** the report's id */
  reportId: string;
  /** the lease's id */
  leaseId: string;
  /** market slug */
  market: string;
  /** the buyer (buyer only) */
  buyerOrganisationId: string;
  /** the provider (provider only) */
  providerOrganisationId: string;
  /** `PROVISIONING` (before access was handed over) or `RUNNING` (after the start) */
  phase: string;
  /** when the buyer says the failure began (ISO 8601) */
  observedAt: string;
  /** when the exchange received the report (ISO 8601): the timestamp that counts */
  reportedAt: string;
};

/** `lease.report_decided`: an admin decided a failure report. */
export type LeaseReportDecidedPayload = {
  /** the report's id */
  reportId: string;
  /** the lease's id */
  leaseId: string;
  /** the buyer (buyer only) */
  buyerOrganisationId: string;
  /** the provider (provider only) */
  providerOrganisationId: string;
  /** `CONFIRMED` (the provider was at fault) or `REJECTED` */
  status: string;
  /** when it was decided (ISO 8601) */
  decidedAt: string;
};

/** `lease.reclaimed`: the provider reclaimed an interruptible lease on idle windows; it runs to `endsAt`, the end of the reclaim notice, then is TERMINATED with reason `RECLAIMED`, no penalty. */
export type LeaseReclaimedPayload = {
  /** the lease's id */
  leaseId: string;
  /** market slug */
  market: string;
  /** the buyer's bid (buyer only) */
  bidId: string;
  /** the buyer (buyer only) */
  buyerOrganisationId: string;
  /** the provider (provider only) */
  providerOrganisationId: string;
  /** GPUs leased */
  gpus: number;
  /** when the provider reclaimed it (ISO 8601) */
  reclaimedAt: string;
  /** the offer's reclaim notice, minutes */
  reclaimNoticeMinutes: number;
  /** when the lease now ends, TERMINATED with reason `RECLAIMED` (ISO 8601) */
  endsAt: string;
};

/** `lease.termination_scheduled`: the provider gave notice; the ACTIVE lease now ends at `endsAt`. */
export type LeaseTerminationScheduledPayload = {
  /** the lease's id */
  leaseId: string;
  /** market slug */
  market: string;
  /** the buyer (buyer only) */
  buyerOrganisationId: string;
  /** the provider (provider only) */
  providerOrganisationId: string;
  /** GPUs leased */
  gpus: number;
  /** when the provider gave notice (ISO 8601) */
  noticeGivenAt: string;
  /** the offer's notice, hours */
  noticeHours: number;
  /** when the lease now ends, TERMINATED with reason `PROVIDER_NOTICE` (ISO 8601) */
  endsAt: string;
};

/** `usage.reported`: a provider reported a pay-per-use period's usage. */
export type UsageReportedPayload = {
  /** the lease's id */
  leaseId: string;
  /** the buyer (buyer only) */
  buyerOrganisationId: string;
  /** the provider (provider only) */
  providerOrganisationId: string;
  /** start of the reported period (ISO 8601) */
  periodStart: string;
  /** end of the reported period (ISO 8601) */
  periodEnd: string;
  /** GPU-seconds used, a decimal string */
  gpuSeconds: string;
  /** tokens served, a decimal string, or null when not reported */
  tokens: string | null;
};

/** Fields every period dispute event carries. */
type PeriodDisputeFields = {
  /** the dispute's id */
  disputeId: string;
  /** the lease's id */
  leaseId: string;
  /** the buyer (buyer only) */
  buyerOrganisationId: string;
  /** the provider (provider only) */
  providerOrganisationId: string;
  /** what is disputed: `USAGE` (the two sides' token counts differ beyond the tolerance) or `SLO` (the provider contests a miss the buyer's evidence shows, docs/SLO.md) */
  kind: 'USAGE' | 'SLO';
  /** the period's index within the lease */
  period: number;
  /** start of the period (ISO 8601) */
  periodStart: string;
  /** end of the period (ISO 8601) */
  periodEnd: string;
  /** whether the period's settlement waits for the decision (false: it had settled already) */
  holdsSettlement: boolean;
  /** USAGE evidence: each side's counts, decimal strings */
  usage: {
    providerPromptTokens: string;
    providerOutputTokens: string;
    buyerPromptTokens: string;
    buyerOutputTokens: string;
  } | null;
  /** SLO evidence: the objectives the buyer's evidence shows missed, and each side's availability in basis points (null: not measured) */
  slo: {
    objectivesMissed: string[];
    providerAvailabilityBps: number | null;
    buyerAvailabilityBps: number | null;
  } | null;
};

/** `dispute.opened`: a dispute about a lease period opened. */
export type DisputeOpenedPayload = PeriodDisputeFields;

/** `dispute.resolved`: an admin decided a dispute about a lease period. */
export type DisputeResolvedPayload = PeriodDisputeFields & {
  /** USAGE decision: the counts that stand for the period, decimal strings */
  decidedUsage: { promptTokens: string; outputTokens: string } | null;
  /** SLO decision: `MET` or `MISSED` (a miss credits the buyer when the period settles) */
  decidedSloOutcome: 'MET' | 'MISSED' | null;
  /** when it was decided (ISO 8601) */
  resolvedAt: string;
};

/** `period.settled`: a lease's billing period settled. */
export type PeriodSettledPayload = {
  /** the lease's id */
  leaseId: string;
  /** market slug */
  market: string;
  /** the buyer (buyer only) */
  buyerOrganisationId: string;
  /** the provider (provider only) */
  providerOrganisationId: string;
  /** the period's index within the lease */
  period: number;
  /** start of the period (ISO 8601) */
  startsAt: string;
  /** end of the period (ISO 8601) */
  endsAt: string;
  /** GPU-seconds charged (per-token periods: paid to the provider), a decimal string */
  gpuSeconds: string;
  /** `RESERVED`, `REPORTED`, `MINIMUM`, `ELAPSED`, `MANUAL` (settled by an admin), or per token `TOKENS` or `TAKE_OR_PAY` */
  basis: string;
  /** what the buyer pays for the period, a decimal string */
  cost: string;
  /** the exchange's fee, a decimal string (provider only) */
  fee: string;
  /** what the provider's earnings gain: `cost` less `fee`, and per token less the platform's spread, a decimal string (provider only) */
  providerProceeds: string;
  /** ISO 4217 currency code */
  currency: string;
};

/** `slo.credited`: a settled period missed its lease's SLO, and the buyer was credited from the provider's proceeds. */
export type SloCreditedPayload = {
  /** the lease's id */
  leaseId: string;
  /** market slug */
  market: string;
  /** the buyer (buyer only) */
  buyerOrganisationId: string;
  /** the provider (provider only) */
  providerOrganisationId: string;
  /** the period's index within the lease */
  period: number;
  /** start of the period (ISO 8601) */
  startsAt: string;
  /** end of the period (ISO 8601) */
  endsAt: string;
  /** why the period counts as missed: `PROVIDER_SILENT`, `PROVIDER_REPORTED`, `BUYER_REPORTED` or `DISPUTE_MISSED` (docs/SLO.md) */
  reason: string;
  /** objectives the evidence shows missed: `AVAILABILITY`, `TTFT_P95`, `THROUGHPUT` (empty when the provider was silent and the buyer showed none) */
  objectivesMissed: string[];
  /** the period's charge, a decimal string */
  periodCost: string;
  /** the SLO's credit share of the charge, percent */
  creditPercent: number;
  /** what moved from the provider's earnings to the buyer's available credit, a decimal string */
  credit: string;
  /** ISO 4217 currency code */
  currency: string;
};

/** `topup.confirmed`: an admin confirmed a buyer's bank transfer; the amount is available credit. */
export type TopUpConfirmedPayload = {
  /** the top-up's id */
  topUpId: string;
  /** the buyer organisation credited */
  organisationId: string;
  /** amount credited, a decimal string */
  amount: string;
  /** ISO 4217 currency code */
  currency: string;
  /** the transfer reference the buyer was given */
  reference: string;
};

/** `payout.paid`: an admin confirmed a payout's bank transfer was sent. */
export type PayoutPaidPayload = {
  /** the payout's id */
  payoutId: string;
  /** the organisation paid */
  organisationId: string;
  /** `PROVIDER_EARNINGS` or `BUYER_AVAILABLE` */
  source: string;
  /** amount paid, a decimal string */
  amount: string;
  /** ISO 4217 currency code */
  currency: string;
  /** the bank's reference of the transfer */
  bankReference: string;
};

/** `balance.low`: a transaction took a buyer's available credit from at or above its threshold to below it. */
export type BalanceLowPayload = {
  /** the buyer organisation */
  organisationId: string;
  /** ISO 4217 currency code */
  currency: string;
  /** available credit after the transaction, a decimal string */
  available: string;
  /** the organisation's low-balance threshold, a decimal string */
  threshold: string;
  /** the lowering transfer's kind, `BID_HOLD` or `PAYOUT` */
  cause: string;
};

/** `organisation.verified`: an admin verifies an organisation. */
export type OrganisationVerifiedPayload = {
  /** the organisation */
  organisationId: string;
  /** `BUYER` or `PROVIDER` */
  role: string;
};

/** `organisation.suspended`: an admin suspends an organisation: read-only, its live orders cancelled. */
export type OrganisationSuspendedPayload = {
  /** the organisation */
  organisationId: string;
  /** `BUYER` or `PROVIDER` */
  role: string;
  /** bids cancelled (each also has its `bid.cancelled`) */
  cancelledBids: number;
  /** offers cancelled (each also has its `offer.cancelled`) */
  cancelledOffers: number;
};

/** `organisation.reinstated`: an admin reinstates a suspended organisation. */
export type OrganisationReinstatedPayload = {
  /** the organisation */
  organisationId: string;
  /** `BUYER` or `PROVIDER` */
  role: string;
  /** `VERIFIED` or `PENDING_VERIFICATION`: the one before the suspension */
  status: string;
};

/** `market.paused` / `market.resumed`: an admin pauses or resumes a market (only on the transition). */
export type MarketStatusPayload = {
  /** market slug */
  market: string;
  /** `PAUSED` or `ACTIVE`, the new status */
  status: string;
  /** when it changed (ISO 8601) */
  at: string;
};

/** `market.fee_changed`: an admin changes a market's fee (only when it changes). */
export type MarketFeeChangedPayload = {
  /** market slug */
  market: string;
  /** the new fee in basis points; leases committed afterwards carry it */
  feeBps: number;
  /** the fee before, in basis points */
  previousFeeBps: number;
  /** when it changed (ISO 8601) */
  at: string;
};

/** `market.matching_changed`: an admin changes a market's matching mode or call window. */
export type MarketMatchingChangedPayload = {
  /** market slug */
  market: string;
  /** `CONTINUOUS` or `CALL`, from the market's next run on */
  matchingMode: 'CONTINUOUS' | 'CALL';
  /** a CALL market's window in ms: its clearings run at the multiples of it plus `callPhaseMs` */
  callWindowMs: number;
  /** the market's phase in its window, ms (0..callWindowMs-1; a new window gives a new phase, docs/MATCHING.md "When a clearing runs") */
  callPhaseMs: number;
  /** the mode before */
  previousMatchingMode: 'CONTINUOUS' | 'CALL';
  /** the window before, ms */
  previousCallWindowMs: number;
  /** the phase before, ms */
  previousCallPhaseMs: number;
  /** when it changed (ISO 8601) */
  at: string;
};

/**
 * Every event type's payload; each entry's doc comment says when the event is emitted.
 * A type in EVENT_TYPES without an entry here does not compile.
 */
export type EventPayloads = {
  /** a provider's offer is accepted */
  'offer.placed': OfferPlacedPayload;
  /** price or quantity of an offer changes (no event when nothing changes) */
  'offer.amended': OfferAmendedPayload;
  /** an offer is cancelled (only on the transition) */
  'offer.cancelled': OfferCancelledPayload;
  /** the provider's serving profiles of an offer change (a declaration that changes nothing emits none), or an admin accepts or rejects a flagged one */
  'offer.serving_changed': OfferServingChangedPayload;
  /** a buyer's bid is accepted */
  'bid.placed': BidPlacedPayload;
  /** a bid is cancelled (only on the transition) */
  'bid.cancelled': BidCancelledPayload;
  /** an automatic re-placement of a bid was refused (its plan's count or budget, funds, a paused market, ...) */
  'bid.replacement_refused': BidReplacementRefusedPayload;
  /** an offer or bid reaches its expiry */
  'order.expired': OrderExpiredPayload;
  /** a matching run fills an order */
  'order.filled': OrderFilledPayload;
  /** a match creates a lease (SCHEDULED) */
  'lease.created': LeaseCreatedPayload;
  /** the provider handed over access; the lease is ACTIVE and billing starts */
  'lease.started': LeaseStartedPayload;
  /** an ACTIVE lease reached its end (the sweep); its GPUs are back on the offer */
  'lease.ended': LeaseEndedPayload;
  /** a lease ended early: `PROVIDER_FAILURE` (no access by the deadline, full refund), `BUYER_REQUEST`, `PROVIDER_REQUEST` (without notice: `penalty` says what the buyer was paid), `PROVIDER_NOTICE` (at the end of the provider's notice), `ADMIN` (a platform admin ended it, `POST /admin/leases/{id}/terminate`) or `RECLAIMED` (the provider reclaimed an interruptible lease on idle windows, no penalty) */
  'lease.terminated': LeaseTerminatedPayload;
  /** the provider gave notice to end an ACTIVE lease early; it runs to the end of the notice */
  'lease.termination_scheduled': LeaseTerminationScheduledPayload;
  /** the provider reclaimed an interruptible lease on idle windows; it runs to the end of the reclaim notice, then ends `RECLAIMED` with no penalty */
  'lease.reclaimed': LeaseReclaimedPayload;
  /** the buyer extended an ACTIVE lease at its trade price; it now ends at `endsAt` */
  'lease.extended': LeaseExtendedPayload;
  /** the buyer reported that the provider failed (during provisioning or after the start): evidence for the SLO and dispute flows */
  'lease.failure_reported': LeaseFailureReportedPayload;
  /** a platform admin decided a buyer's failure report (audited); a confirmed one counts against the provider's reliability */
  'lease.report_decided': LeaseReportDecidedPayload;
  /** a provider reported a pay-per-use period's usage */
  'usage.reported': UsageReportedPayload;
  /** a lease's billing period settled */
  'period.settled': PeriodSettledPayload;
  /** a lease period is disputed: the two sides' token counts differ beyond the tolerance (docs/USAGE.md), or the provider contests a miss the buyer's SLO evidence shows (docs/SLO.md); the period's settlement waits for an admin's decision */
  'dispute.opened': DisputeOpenedPayload;
  /** an admin decided a period dispute (audited); a held period settles next */
  'dispute.resolved': DisputeResolvedPayload;
  /** a settled period missed its lease's SLO: a share of its charge moved from the provider's proceeds to the buyer (docs/SLO.md) */
  'slo.credited': SloCreditedPayload;
  /** an admin confirmed a buyer's bank transfer; the amount is available credit */
  'topup.confirmed': TopUpConfirmedPayload;
  /** an admin confirmed a payout's bank transfer was sent */
  'payout.paid': PayoutPaidPayload;
  /** a transaction took a buyer's available credit from at or above its low-balance threshold to below it; once per crossing, again only after credit is back at or above the threshold */
  'balance.low': BalanceLowPayload;
  /** an admin verifies an organisation (its resting orders become visible to matching, which runs their markets) */
  'organisation.verified': OrganisationVerifiedPayload;
  /** an admin suspends an organisation: read-only, its live orders cancelled */
  'organisation.suspended': OrganisationSuspendedPayload;
  /** an admin reinstates a suspended organisation */
  'organisation.reinstated': OrganisationReinstatedPayload;
  /** an admin pauses a market (only on the transition; nothing fills and no new orders are accepted until `market.resumed`) */
  'market.paused': MarketStatusPayload;
  /** an admin resumes a market (only on the transition; matching runs the market) */
  'market.resumed': MarketStatusPayload;
  /** an admin changes a market's fee (only when it changes; leases committed afterwards carry `feeBps`, earlier ones keep theirs) */
  'market.fee_changed': MarketFeeChangedPayload;
  /** an admin changes a market's matching mode or call window (only when one changes; applies from the market's next run, docs/MATCHING.md "Call markets") */
  'market.matching_changed': MarketMatchingChangedPayload;
};
