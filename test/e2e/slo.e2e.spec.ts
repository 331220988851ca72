import { parse } from 'csv-parse/sync';
import { randomUUID } from 'node:crypto';
import { AppConfig } from '@/infra/config/app-config';
import { Clock } from '@/infra/clock/clock';
import { SettlementService } from '@/modules/billing/settlement/settlement.service';
import { LeaseLifecycleService } from '@/modules/leases/lease-lifecycle.service';
import { evidenceDigest, evidenceKey } from '@/modules/slo/domain/slo-rules';
import { HOUR, ledgerBalance, MINUTE, quiet } from '../support/leases';
import type { TestTenant } from '../support/tenants';
import { waitFor } from '../support/wait-for';
import { leaseSuite } from './lease-fixtures';
import { offerBody } from './marketplace-fixtures';

// The evidence window (the grace) and then the provider's dispute window (docs/SLO.md).
const GRACE_MINUTES = 15;
const DISPUTE_MINUTES = 30;

type Body = Record<string, unknown>;
const body = (res: { body: unknown }): Body => res.body as Body;

/**
 * SLO-conditioned escrow over HTTP (docs/SLO.md), on the controllable clock: evidence from both
 * sides, signed; a miss only the buyer shows credited automatically at settlement from the
 * provider's proceeds, on the invoice and the earnings statement (JSON and CSV); a silent
 * provider missed; a provider's dispute in time held for an admin's audited decision; bad input
 * refused with nothing written. Ledger invariants (SLO credits included) after each test.
 */
describe('SLO escrow: evidence, automatic credits and SLO disputes', () => {
  const suite = leaseSuite({
    env: {
      SETTLEMENT_GRACE_MINUTES: String(GRACE_MINUTES),
      SLO_DISPUTE_WINDOW_MINUTES: String(DISPUTE_MINUTES),
    },
    market: 'test',
    admin: 'slo',
  });
  const { http, advance } = suite;
  const signInAdmin = () => suite.admin.signIn();
  const report = (tenant: TestTenant, leaseId: string, evidence: Body) =>
    http().post(`/v1/leases/${leaseId}/slo-reports`).set(tenant.auth).send(evidence);
  const sloOf = async (tenant: TestTenant, leaseId: string) =>
    body(await http().get(`/v1/leases/${leaseId}/slo`).set(tenant.auth).expect(200));
  const available = (organisationId: string, kind: 'BUYER_AVAILABLE' | 'PROVIDER_EARNINGS') =>
    ledgerBalance(suite.app, organisationId, kind);

  /**
   * A started RESERVED lease of one GPU at 10.00 under this SLO, and its start. Its offer is
   * withdrawn: its GPU comes back when the lease ends, and the next lease sells under its own SLO.
   */
  const startedLease = (slo: Body | undefined, hours: number) =>
    suite.startedLease({ durationHours: hours, billingMode: 'RESERVED', slo, withdrawOffer: true });

  it('credits a miss only the buyer shows, at settlement, from the provider’s proceeds, on both statements', async () => {
    const lease = await startedLease({ availabilityPercent: 99.5, creditPercent: 20 }, 1);
    const slo = await sloOf(suite.buyer, lease.id);
    expect(slo.slo).toEqual({
      availabilityPercent: 99.5,
      ttftP95Ms: null,
      outputTokensPerSecondPerGpu: null,
      creditPercent: 20,
    });
    await advance(HOUR + MINUTE);
    // The lease ends at its hour: it can complete (and be invoiced) once its period settles.
    await suite.app.get(LeaseLifecycleService).sweep();

    const mine = body(
      await report(suite.provider, lease.id, { periodStart: lease.start, availabilityPercent: 99.9 }).expect(
        200,
      ),
    );
    expect(mine).toMatchObject({ source: 'PROVIDER', method: 'REPORT', objectivesMissed: [] });
    const probe = {
      periodStart: lease.start,
      method: 'PROBE',
      availabilityPercent: 97,
      note: 'probe every 30 s',
    };
    const theirs = body(await report(suite.buyer, lease.id, probe).expect(200));
    expect(theirs).toMatchObject({
      source: 'BUYER',
      method: 'PROBE',
      availabilityPercent: 97,
      objectivesMissed: ['AVAILABILITY'],
      signer: { kind: 'api_key' },
    });
    // Signed: the digest is the HMAC of the canonical evidence, with the submitting key, under the exchange's key.
    const stored = await suite.prisma.sloReport.findFirstOrThrow({
      where: { leaseId: lease.id, source: 'BUYER' },
    });
    expect(theirs.digest).toBe(
      evidenceDigest(
        {
          leaseId: lease.id,
          periodIndex: 0,
          periodStart: new Date(lease.start),
          source: 'BUYER',
          method: 'PROBE',
          availabilityBps: 9_700,
          ttftP95Ms: null,
          outputTokensPerSecondPerGpu: null,
          note: 'probe every 30 s',
          signerKind: 'api_key',
          signerId: stored.signerId,
          submittedAt: stored.createdAt,
        },
        evidenceKey(suite.app.get(AppConfig).secrets.API_KEY_PEPPER),
      ),
    );
    // Final: the same evidence again is the same answer; other evidence is refused.
    expect(body(await report(suite.buyer, lease.id, probe).expect(200)).digest).toBe(theirs.digest);
    const again = await report(suite.buyer, lease.id, { ...probe, availabilityPercent: 99 }).expect(409);
    expect(body(again).details).toMatchObject({ reason: 'SLO_EVIDENCE_ALREADY_STATED' });

    // The provider may still dispute: nothing settles until its window closes.
    const settlement = suite.app.get(SettlementService);
    expect(await settlement.settleLease(lease.id)).toBe(0);
    const buyerBefore = await available(suite.buyer.organisationId, 'BUYER_AVAILABLE');
    await advance((GRACE_MINUTES + DISPUTE_MINUTES) * MINUTE);
    expect(await settlement.settleLease(lease.id)).toBe(1);
    await quiet(suite.app);

    // 10.00 charged, fee 2.5% (0.25); 20% of the charge, 2.00, goes back to the buyer from the provider.
    const after = await sloOf(suite.provider, lease.id);
    expect(after.credited).toBe('2.00');
    expect(after.periods).toEqual([
      expect.objectContaining({
        period: 0,
        outcome: expect.objectContaining({
          outcome: 'MISSED',
          reason: 'BUYER_REPORTED',
          objectivesMissed: ['AVAILABILITY'],
          creditPercent: 20,
          credit: '2.00',
        }) as unknown,
      }),
    ]);
    expect((await available(suite.buyer.organisationId, 'BUYER_AVAILABLE')) - buyerBefore).toBe(200n);
    const transfer = await suite.prisma.ledgerTransfer.findUniqueOrThrow({
      where: { key: `slo-credit:${lease.id}:0` },
      include: { entries: { include: { account: true } } },
    });
    expect(transfer.kind).toBe('SLO_CREDIT');
    expect(transfer.entries.map((e) => [e.account.kind, e.account.organisationId, e.amount]).sort()).toEqual(
      [
        ['BUYER_AVAILABLE', suite.buyer.organisationId, 200n],
        ['PROVIDER_EARNINGS', suite.provider.organisationId, -200n],
      ].sort(),
    );
    const credited = await suite.prisma.outboxEvent.findMany({
      where: { aggregateId: lease.id, type: 'slo.credited' },
    });
    expect(credited.map((e) => e.payload)).toEqual([
      expect.objectContaining({ period: 0, reason: 'BUYER_REPORTED', periodCost: '10.00', credit: '2.00' }),
    ]);

    // The buyer's entries, invoice (JSON and CSV) and the provider's earnings (JSON and CSV) show it.
    const entries = body(await http().get('/v1/billing/entries').set(suite.buyer.auth).expect(200))
      .data as Body[];
    expect(entries.find((e) => e.kind === 'SLO_CREDIT' && e.leaseId === lease.id)).toMatchObject({
      amount: '2.00',
    });
    const invoices = body(await http().get('/v1/invoices').set(suite.buyer.auth).expect(200)).data as Body[];
    const invoice = invoices.find((i) => i.leaseId === lease.id);
    expect(invoice).toMatchObject({ gross: '8.00', sloCredits: '2.00' });
    const full = body(
      await http()
        .get(`/v1/invoices/${String(invoice?.id)}`)
        .set(suite.buyer.auth)
        .expect(200),
    );
    expect(full.lines).toEqual([expect.objectContaining({ period: 0, amount: '10.00', sloCredit: '2.00' })]);
    const lineCsv = await http()
      .get(`/v1/invoices/${String(invoice?.id)}?format=csv`)
      .set(suite.buyer.auth)
      .expect(200);
    expect(parse(lineCsv.text, { columns: true })).toEqual([
      expect.objectContaining({ period: '0', amount: '10.00', sloCredit: '2.00' }),
    ]);
    // Settled at the clock's instant: the range ends after it (`to` is exclusive).
    const to = new Date(suite.app.get(Clock).now().getTime() + HOUR).toISOString();
    const earnings = body(
      await http().get(`/v1/billing/earnings?groupBy=lease&to=${to}`).set(suite.provider.auth).expect(200),
    ).groups as Body[];
    expect(earnings.find((g) => g.key === lease.id)).toMatchObject({
      proceeds: '10.00',
      fee: '0.25',
      net: '9.75',
      sloCredits: '2.00',
      netAfterCredits: '7.75',
    });
    const earningsCsv = await http()
      .get(`/v1/billing/earnings?groupBy=lease&format=csv&to=${to}`)
      .set(suite.provider.auth)
      .expect(200);
    expect(parse<Body>(earningsCsv.text, { columns: true }).find((r) => r.key === lease.id)).toMatchObject({
      sloCredits: '2.00',
      netAfterCredits: '7.75',
    });

    // The miss counts against the provider's reliability.
    const reliability = body(
      await http().get('/v1/providers/reliability').set(suite.provider.auth).expect(200),
    );
    expect(reliability.components).toMatchObject({ slo: { met: 0, missed: 1, metShare: 0 } });
  });

  it('treats a provider that reports nothing as having missed, and credits a period it met', async () => {
    const lease = await startedLease({ availabilityPercent: 99, creditPercent: 10 }, 2);
    await advance(HOUR + MINUTE);
    // Period 0: the provider is silent and the buyer too. Period 1: the provider reports it met.
    await advance(HOUR);
    await suite.app.get(LeaseLifecycleService).sweep();
    const second = new Date(new Date(lease.start).getTime() + HOUR).toISOString();
    await report(suite.provider, lease.id, { periodStart: second, availabilityPercent: 100 }).expect(200);
    await advance((GRACE_MINUTES + DISPUTE_MINUTES) * MINUTE);
    expect(await suite.app.get(SettlementService).settleLease(lease.id)).toBe(2);
    await quiet(suite.app);
    const outcomes = (await sloOf(suite.buyer, lease.id)).periods as Body[];
    expect(outcomes.map((p) => p.outcome)).toEqual([
      expect.objectContaining({ outcome: 'MISSED', reason: 'PROVIDER_SILENT', credit: '1.00' }),
      expect.objectContaining({ outcome: 'MET', reason: 'MET', credit: '0.00' }),
    ]);
    expect(
      await suite.prisma.ledgerTransfer.count({ where: { key: { startsWith: `slo-credit:${lease.id}:` } } }),
    ).toBe(1);
    // Late evidence for a settled period is refused, with nothing written.
    const late = await report(suite.provider, lease.id, {
      periodStart: lease.start,
      availabilityPercent: 100,
    }).expect(409);
    expect(body(late).details).toMatchObject({ reason: 'EVIDENCE_CLOSED' });
    expect(await suite.prisma.sloReport.count({ where: { leaseId: lease.id } })).toBe(1);
  });

  it('takes a buyer’s failure report as its SLO evidence: a miss for that period, though the provider reports it met', async () => {
    const lease = await startedLease({ availabilityPercent: 99, creditPercent: 10 }, 1);
    await advance(30 * MINUTE);
    const failed = body(
      await http()
        .post(`/v1/leases/${lease.id}/failure-reports`)
        .set(suite.buyer.auth)
        .set('idempotency-key', randomUUID())
        .send({ detail: 'endpoint stopped answering' })
        .expect(200),
    );
    // Available until the failure, half-way through the period, and not after.
    const evidence = ((await sloOf(suite.provider, lease.id)).periods as Body[])[0]?.buyer;
    expect(evidence).toMatchObject({
      source: 'BUYER',
      method: 'PROVIDER_FAILED',
      availabilityPercent: 50,
      objectivesMissed: ['AVAILABILITY'],
      note: `failure report ${failed.id as string}`,
    });
    await advance(30 * MINUTE + MINUTE);
    await suite.app.get(LeaseLifecycleService).sweep();
    await report(suite.provider, lease.id, { periodStart: lease.start, availabilityPercent: 100 }).expect(
      200,
    );
    // The buyer's evidence is final: its own later measurement of the period is refused.
    const again = await report(suite.buyer, lease.id, {
      periodStart: lease.start,
      availabilityPercent: 100,
    }).expect(409);
    expect(body(again).details).toMatchObject({ reason: 'SLO_EVIDENCE_ALREADY_STATED' });
    await advance((GRACE_MINUTES + DISPUTE_MINUTES) * MINUTE);
    expect(await suite.app.get(SettlementService).settleLease(lease.id)).toBe(1);
    await quiet(suite.app);
    expect(((await sloOf(suite.buyer, lease.id)).periods as Body[])[0]?.outcome).toMatchObject({
      outcome: 'MISSED',
      reason: 'BUYER_REPORTED',
      credit: '1.00',
    });
  });

  it('holds a period the provider disputes in time until an admin decides it, audited', async () => {
    const lease = await startedLease({ availabilityPercent: 99.5, creditPercent: 50 }, 1);
    await advance(HOUR + MINUTE);
    await suite.app.get(LeaseLifecycleService).sweep();
    const disputeUrl = `/v1/leases/${lease.id}/slo-disputes`;
    const claim = { periodStart: lease.start, reason: 'our gateway log shows 99.98% for the hour' };
    // Nothing to contest before the buyer shows a miss; a buyer cannot dispute.
    await report(suite.provider, lease.id, { periodStart: lease.start, availabilityPercent: 99.98 }).expect(
      200,
    );
    const early = await http().post(disputeUrl).set(suite.provider.auth).send(claim).expect(409);
    expect(body(early).details).toMatchObject({ reason: 'NOT_CONTESTABLE' });
    await report(suite.buyer, lease.id, { periodStart: lease.start, availabilityPercent: 90 }).expect(200);
    await http().post(disputeUrl).set(suite.buyer.auth).send(claim).expect(403);
    await http().post(disputeUrl).set(suite.provider.auth).send({ periodStart: lease.start }).expect(400);

    const opened = body(await http().post(disputeUrl).set(suite.provider.auth).send(claim).expect(200));
    expect(opened).toMatchObject({ status: 'OPEN', outcome: null });
    expect(body(await http().post(disputeUrl).set(suite.provider.auth).send(claim).expect(200)).id).toBe(
      opened.id,
    );
    const disputeId = String(opened.id);

    // Past the window the period is due, but it waits for the decision.
    await advance((GRACE_MINUTES + DISPUTE_MINUTES) * MINUTE);
    const settlement = suite.app.get(SettlementService);
    expect(await settlement.settleLease(lease.id)).toBe(0);
    await settlement.sweep();
    expect(await suite.prisma.leasePeriod.count({ where: { leaseId: lease.id } })).toBe(0);

    const admin = await signInAdmin();
    const shown = body(await http().get(`/admin/disputes/${disputeId}`).set(admin).expect(200));
    expect(shown).toMatchObject({
      kind: 'SLO',
      status: 'OPEN',
      holdsSettlement: true,
      evidence: {
        kind: 'SLO',
        slo: { availabilityBps: 9_950, creditPercent: 50 },
        provider: { availabilityBps: 9_998 },
        buyer: { availabilityBps: 9_000 },
        objectivesMissed: ['AVAILABILITY'],
        providerReason: claim.reason,
      },
    });
    const resolveUrl = `/admin/disputes/${disputeId}/resolve`;
    // An SLO dispute is decided with `slo` alone.
    await http()
      .post(resolveUrl)
      .set(admin)
      .send({ note: 'counts?', usage: { promptTokens: 1, outputTokens: 1 } })
      .expect(400);
    await http().post(resolveUrl).set(admin).send({ note: 'nothing' }).expect(400);
    await http()
      .post(resolveUrl)
      .set(admin)
      .send({ note: 'bad', slo: { outcome: 'MAYBE' } })
      .expect(400);
    const note = 'the buyer probe hit a closed port; gateway logs show the service up';
    const resolved = body(
      await http()
        .post(resolveUrl)
        .set(admin)
        .send({ note, slo: { outcome: 'MET' } })
        .expect(200),
    );
    expect(resolved).toMatchObject({ status: 'RESOLVED', decision: { kind: 'SLO', outcome: 'MET' } });
    await waitFor('the held period to settle', async () =>
      (await suite.prisma.leasePeriod.count({ where: { leaseId: lease.id } })) === 1 ? true : undefined,
    );
    await quiet(suite.app);
    await http()
      .post(resolveUrl)
      .set(admin)
      .send({ note, slo: { outcome: 'MET' } })
      .expect(200);
    await http()
      .post(resolveUrl)
      .set(admin)
      .send({ note, slo: { outcome: 'MISSED' } })
      .expect(409);

    const periods = (await sloOf(suite.buyer, lease.id)).periods as Body[];
    expect(periods[0]).toMatchObject({
      dispute: { id: disputeId, status: 'RESOLVED', outcome: 'MET' },
      outcome: { outcome: 'MET', reason: 'DISPUTE_MET', credit: '0.00' },
    });
    expect(await suite.prisma.ledgerTransfer.count({ where: { key: `slo-credit:${lease.id}:0` } })).toBe(0);
    expect(
      await suite.prisma.auditLogEntry.count({ where: { action: 'dispute.resolve', targetId: disputeId } }),
    ).toBe(1);
    const events = await suite.prisma.outboxEvent.findMany({
      where: { aggregateId: lease.id, type: { startsWith: 'dispute.' } },
      orderBy: { seq: 'asc' },
    });
    expect(events.map((e) => [e.type, (e.payload as Body).kind])).toEqual([
      ['dispute.opened', 'SLO'],
      ['dispute.resolved', 'SLO'],
    ]);
    expect(events[1]?.payload).toMatchObject({ decidedSloOutcome: 'MET', decidedUsage: null });
  });

  describe('a failure report decided settles the SLO dispute it is evidence for (docs/SLO.md)', () => {
    /**
     * A lease whose buyer reported the provider failed half-way through its one period, whose
     * provider reported the period met and disputes the buyer's (failure) evidence: OPEN.
     */
    const failedAndDisputed = async () => {
      const lease = await startedLease({ availabilityPercent: 99, creditPercent: 10 }, 1);
      await advance(30 * MINUTE);
      const failed = body(
        await http()
          .post(`/v1/leases/${lease.id}/failure-reports`)
          .set(suite.buyer.auth)
          .set('idempotency-key', randomUUID())
          .send({ detail: 'endpoint stopped answering' })
          .expect(200),
      );
      await advance(30 * MINUTE + MINUTE);
      await suite.app.get(LeaseLifecycleService).sweep();
      await report(suite.provider, lease.id, { periodStart: lease.start, availabilityPercent: 100 }).expect(
        200,
      );
      const disputed = body(
        await http()
          .post(`/v1/leases/${lease.id}/slo-disputes`)
          .set(suite.provider.auth)
          .send({ periodStart: lease.start, reason: 'our monitor saw it up all hour' })
          .expect(200),
      );
      return { lease, reportId: String(failed.id), disputeId: String(disputed.id) };
    };
    const decide = (admin: Record<string, string>, reportId: string, status: string) =>
      http()
        .post(`/admin/lease-reports/${reportId}/decide`)
        .set(admin)
        .send({ status, note: 'looked at logs' });
    const disputeOf = async (admin: Record<string, string>, disputeId: string) =>
      body(await http().get(`/admin/disputes/${disputeId}`).set(admin).expect(200));
    const settle = async (leaseId: string) => {
      await advance((GRACE_MINUTES + DISPUTE_MINUTES) * MINUTE);
      await suite.app.get(SettlementService).settleLease(leaseId);
      await quiet(suite.app);
      return ((await sloOf(suite.buyer, leaseId)).periods as Body[])[0];
    };

    it('confirmed: the dispute is decided MISSED in the same audited decision, and the credit reaches the invoice', async () => {
      const { lease, reportId, disputeId } = await failedAndDisputed();
      const admin = await signInAdmin();
      expect(body(await decide(admin, reportId, 'CONFIRMED').expect(200))).toMatchObject({
        status: 'CONFIRMED',
      });
      expect(await disputeOf(admin, disputeId)).toMatchObject({
        status: 'RESOLVED',
        decision: { kind: 'SLO', outcome: 'MISSED' },
      });
      expect(
        await suite.prisma.auditLogEntry.count({ where: { action: 'dispute.resolve', targetId: disputeId } }),
      ).toBe(1);
      const resolved = await suite.prisma.outboxEvent.findMany({
        where: { aggregateId: lease.id, type: 'dispute.resolved' },
      });
      expect(resolved.map((e) => e.payload)).toEqual([
        expect.objectContaining({ decidedSloOutcome: 'MISSED', decidedUsage: null }),
      ]);
      // The dispute, decided, can no longer be decided the other way.
      const contradict = await http()
        .post(`/admin/disputes/${disputeId}/resolve`)
        .set(admin)
        .send({ note: 'not so', slo: { outcome: 'MET' } })
        .expect(409);
      expect(body(contradict).details).toMatchObject({ reason: 'DISPUTE_RESOLVED' });

      expect(await settle(lease.id)).toMatchObject({
        buyer: { method: 'PROVIDER_FAILED', withdrawn: false },
        dispute: { id: disputeId, status: 'RESOLVED', outcome: 'MISSED' },
        outcome: { outcome: 'MISSED', reason: 'DISPUTE_MISSED', credit: '1.00' },
      });
      const invoice = await waitFor('the invoice', async () => {
        await suite.app.get(LeaseLifecycleService).sweep();
        const invoices = body(await http().get('/v1/invoices').set(suite.buyer.auth).expect(200))
          .data as Body[];
        return invoices.find((i) => i.leaseId === lease.id);
      });
      expect(invoice).toMatchObject({ sloCredits: '1.00' });
    });

    it('rejected: the failure evidence is withdrawn, the dispute is decided MET and nothing is credited', async () => {
      const { lease, reportId, disputeId } = await failedAndDisputed();
      const admin = await signInAdmin();
      await decide(admin, reportId, 'REJECTED').expect(200);
      expect(await disputeOf(admin, disputeId)).toMatchObject({
        status: 'RESOLVED',
        decision: { kind: 'SLO', outcome: 'MET' },
      });
      expect(await settle(lease.id)).toMatchObject({
        // The buyer's evidence stays on the record, marked withdrawn.
        buyer: { method: 'PROVIDER_FAILED', withdrawn: true },
        provider: { withdrawn: false },
        outcome: { outcome: 'MET', reason: 'DISPUTE_MET', credit: '0.00' },
      });
      expect(await suite.prisma.ledgerTransfer.count({ where: { key: `slo-credit:${lease.id}:0` } })).toBe(0);
    });

    it('cannot contradict a decision already made, either way round: 409 and nothing written', async () => {
      // The dispute decided first: a report decision against it is refused, one agreeing with it stands.
      const first = await failedAndDisputed();
      const admin = await signInAdmin();
      await http()
        .post(`/admin/disputes/${first.disputeId}/resolve`)
        .set(admin)
        .send({ note: 'monitor logs convincing', slo: { outcome: 'MET' } })
        .expect(200);
      const refused = await decide(admin, first.reportId, 'CONFIRMED').expect(409);
      expect(body(refused).details).toMatchObject({
        reason: 'SLO_DISPUTE_DECIDED',
        disputeId: first.disputeId,
        outcome: 'MET',
      });
      expect(
        await suite.prisma.leaseReport.findUniqueOrThrow({ where: { id: first.reportId } }),
      ).toMatchObject({
        status: 'OPEN',
      });
      await decide(admin, first.reportId, 'REJECTED').expect(200);
      expect(await settle(first.lease.id)).toMatchObject({ outcome: { outcome: 'MET', credit: '0.00' } });

      // The report decided first (before the provider disputed): the dispute follows it or is refused.
      const lease = await startedLease({ availabilityPercent: 99, creditPercent: 10 }, 1);
      await advance(30 * MINUTE);
      const failed = body(
        await http()
          .post(`/v1/leases/${lease.id}/failure-reports`)
          .set(suite.buyer.auth)
          .set('idempotency-key', randomUUID())
          .send({ detail: 'endpoint stopped answering' })
          .expect(200),
      );
      // A fresh session: the clock has moved past the first one's.
      const again = await signInAdmin();
      await decide(again, String(failed.id), 'CONFIRMED').expect(200);
      await advance(30 * MINUTE + MINUTE);
      await suite.app.get(LeaseLifecycleService).sweep();
      await report(suite.provider, lease.id, { periodStart: lease.start, availabilityPercent: 100 }).expect(
        200,
      );
      const disputeId = String(
        body(
          await http()
            .post(`/v1/leases/${lease.id}/slo-disputes`)
            .set(suite.provider.auth)
            .send({ periodStart: lease.start, reason: 'our monitor saw it up all hour' })
            .expect(200),
        ).id,
      );
      const later = await signInAdmin();
      const against = await http()
        .post(`/admin/disputes/${disputeId}/resolve`)
        .set(later)
        .send({ note: 'monitor logs convincing', slo: { outcome: 'MET' } })
        .expect(409);
      expect(body(against).details).toMatchObject({
        reason: 'LEASE_REPORT_DECIDED',
        reportStatus: 'CONFIRMED',
      });
      expect((await disputeOf(later, disputeId)).status).toBe('OPEN');
      await http()
        .post(`/admin/disputes/${disputeId}/resolve`)
        .set(later)
        .send({ note: 'the confirmed failure stands', slo: { outcome: 'MISSED' } })
        .expect(200);
      expect(await settle(lease.id)).toMatchObject({
        outcome: { outcome: 'MISSED', reason: 'DISPUTE_MISSED', credit: '1.00' },
      });
    });
  });

  it('refuses a dispute once its window closed, and credits the buyer’s evidence then', async () => {
    const lease = await startedLease({ availabilityPercent: 99.5, creditPercent: 100 }, 1);
    await advance(HOUR + MINUTE);
    await suite.app.get(LeaseLifecycleService).sweep();
    await report(suite.provider, lease.id, { periodStart: lease.start, availabilityPercent: 99.9 }).expect(
      200,
    );
    await report(suite.buyer, lease.id, { periodStart: lease.start, availabilityPercent: 50 }).expect(200);
    await advance((GRACE_MINUTES + DISPUTE_MINUTES) * MINUTE);
    const late = await http()
      .post(`/v1/leases/${lease.id}/slo-disputes`)
      .set(suite.provider.auth)
      .send({ periodStart: lease.start, reason: 'too late' })
      .expect(409);
    expect(body(late).details).toMatchObject({ reason: 'DISPUTE_WINDOW_OVER' });
    expect(await suite.prisma.periodDispute.count({ where: { leaseId: lease.id } })).toBe(0);
    expect(await suite.app.get(SettlementService).settleLease(lease.id)).toBe(1);
    // 100% of the charge is capped at the provider's proceeds: 10.00 - 0.25.
    const periods = (await sloOf(suite.buyer, lease.id)).periods as Body[];
    expect(periods[0]).toMatchObject({ outcome: { outcome: 'MISSED', credit: '9.75' } });
  });

  it('refuses SLOs that cannot be measured or are out of range, and bad evidence, writing nothing', async () => {
    const count = () =>
      suite.prisma.offer.count({ where: { organisationId: suite.provider.organisationId } });
    const before = await count();
    for (const slo of [
      { availabilityPercent: 100 },
      { availabilityPercent: 89.99 },
      { availabilityPercent: 99.555 },
      { availabilityPercent: '99.5' },
      { availabilityPercent: 99, creditPercent: 0 },
      { availabilityPercent: 99, creditPercent: 101 },
      { availabilityPercent: 99, ttftP95Ms: 0 },
      { availabilityPercent: 99, outputTokensPerSecondPerGpu: -1 },
      { availabilityPercent: 99, uptime: 'always' },
      { ttftP95Ms: 500 },
      {},
      'gold',
    ]) {
      const res = await http()
        .post('/v1/offers')
        .set(suite.provider.auth)
        .set('idempotency-key', randomUUID())
        .send(offerBody(suite.site.id, { market: suite.market.slug, slo }));
      expect([res.status, slo]).toEqual([400, slo]);
    }
    expect(await count()).toBe(before);
    // The control: the same offer with a measurable SLO is placed, and shows it.
    const placed = await http()
      .post('/v1/offers')
      .set(suite.provider.auth)
      .set('idempotency-key', randomUUID())
      .send(
        offerBody(suite.site.id, {
          market: suite.market.slug,
          slo: { availabilityPercent: 99.95, ttftP95Ms: 400 },
        }),
      )
      .expect(201);
    expect(body(placed).slo).toEqual({
      availabilityPercent: 99.95,
      ttftP95Ms: 400,
      outputTokensPerSecondPerGpu: null,
      creditPercent: 10,
    });
    expect(await count()).toBe(before + 1);

    const lease = await startedLease({ availabilityPercent: 99.5 }, 1);
    const plain = await startedLease(undefined, 1);
    // The lease shows the SLO it carries to both sides, and null when none was promised.
    for (const tenant of [suite.buyer, suite.provider]) {
      expect(body(await http().get(`/v1/leases/${lease.id}`).set(tenant.auth).expect(200)).slo).toEqual({
        availabilityPercent: 99.5,
        ttftP95Ms: null,
        outputTokensPerSecondPerGpu: null,
        creditPercent: 10,
      });
      expect(body(await http().get(`/v1/leases/${plain.id}`).set(tenant.auth).expect(200)).slo).toBeNull();
    }
    // Not ended yet: nothing to measure.
    await report(suite.provider, lease.id, { periodStart: lease.start, availabilityPercent: 99.9 }).expect(
      400,
    );
    await advance(HOUR + MINUTE);
    for (const evidence of [
      { periodStart: lease.start, availabilityPercent: 101 },
      { periodStart: lease.start, availabilityPercent: 99.999 },
      { periodStart: lease.start, availabilityPercent: -1 },
      // No TTFT objective on a lease of a GPU bid: nothing to measure it against.
      { periodStart: lease.start, availabilityPercent: 99.9, ttftP95Ms: 300 },
      { periodStart: lease.start, method: 'PROVIDER_FAILED', availabilityPercent: 50 },
      { periodStart: lease.start, method: 'PROBE', availabilityPercent: 99.9 },
      { periodStart: lease.start },
      { periodStart: new Date(new Date(lease.start).getTime() + 1).toISOString(), availabilityPercent: 99 },
      { periodStart: 'yesterday', availabilityPercent: 99 },
      { periodStart: lease.start, availabilityPercent: 99, extra: true },
    ]) {
      const res = await report(suite.provider, lease.id, evidence);
      expect([res.status, evidence]).toEqual([400, evidence]);
    }
    const noSlo = await report(suite.provider, plain.id, {
      periodStart: plain.start,
      availabilityPercent: 99,
    }).expect(409);
    expect(body(noSlo).details).toMatchObject({ reason: 'NO_SLO' });
    await report(suite.buyer, randomUUID(), { periodStart: lease.start, availabilityPercent: 99 }).expect(
      404,
    );
    expect(await suite.prisma.sloReport.count({ where: { leaseId: { in: [lease.id, plain.id] } } })).toBe(0);
    // Let both close and settle, so the suite leaves no lease half-settled.
    await suite.app.get(LeaseLifecycleService).sweep();
    await advance((GRACE_MINUTES + DISPUTE_MINUTES) * MINUTE);
    await suite.app.get(SettlementService).settleLease(lease.id);
    await suite.app.get(SettlementService).settleLease(plain.id);
  });
});
