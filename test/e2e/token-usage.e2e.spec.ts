import { randomUUID } from 'node:crypto';
import { JobProducer } from '@/infra/queues/job-producer.service';
import { SettlementService } from '@/modules/billing/settlement/settlement.service';
import { HOUR, MINUTE, quiet } from '../support/leases';
import { connectSse } from '../support/sse-client';
import { registerOrganisation, type TestTenant } from '../support/tenants';
import { waitFor } from '../support/wait-for';
import { leaseBetween, leaseSuite, startLease } from './lease-fixtures';

// Long enough that two ended periods are both inside their grace (docs/USAGE.md).
const GRACE_MINUTES = 90;

type Body = Record<string, unknown>;
const body = (res: { body: unknown }): Body => res.body as Body;

/**
 * Token counts per lease period (docs/USAGE.md) over HTTP: the provider's reports (final,
 * in order, in the grace, within what the GPUs could serve), bad input refused with nothing
 * written, the buyer's counts, a dispute opened, decided by an admin, and the held period
 * settled once. Ledger invariants after each test. Time moves on the controllable clock.
 */
describe('token usage: checked reports, buyer counts and period disputes', () => {
  const suite = leaseSuite({
    env: { SETTLEMENT_GRACE_MINUTES: String(GRACE_MINUTES) },
    market: 'inference',
    admin: 'usage',
    // Listening, for the live stream read over fetch.
    listen: true,
  });
  const { http, advance } = suite;
  // Signed in afresh whenever needed: the clock moves hours, past an access token's life.
  const signInAdmin = () => suite.admin.signIn();
  const state = (tenant: TestTenant, leaseId: string, counts: Body) =>
    http().post(`/v1/leases/${leaseId}/tokens`).set(tenant.auth).send(counts);
  const written = async (leaseId: string) => ({
    counts: await suite.prisma.tokenUsage.count({ where: { leaseId } }),
    disputes: await suite.prisma.periodDispute.count({ where: { leaseId } }),
    events: await suite.prisma.outboxEvent.count({
      where: { aggregateId: leaseId, type: { startsWith: 'dispute.' } },
    }),
  });

  /** A started pay-per-use lease of one GPU in the suite's market, and its period starts. */
  async function startedLease(hours: number) {
    const lease = await suite.startedLease({ durationHours: hours, billingMode: 'PAY_PER_USE' });
    const start = new Date(lease.start).getTime();
    return { ...lease, period: (i: number) => new Date(start + i * HOUR).toISOString() };
  }

  it('takes a provider’s report once, in period order, inside the grace, and within what the GPUs serve', async () => {
    const lease = await startedLease(4);
    // Llama 3.3 70B at 2,600 prompt and 400 output tokens/s per GPU: within the reference band.
    await http()
      .put(`/v1/offers/${lease.offerId}/serving-profiles`)
      .set(suite.provider.auth)
      .send({
        profiles: [
          {
            model: 'llama-3.3-70b-instruct',
            concurrency: 8,
            promptTokensPerSecondPerGpu: 2600,
            outputTokensPerSecondPerGpu: 400,
            ttftP50Ms: 120,
            ttftP95Ms: 220,
          },
        ],
      })
      .expect(200);
    const ok = { promptTokens: 1_000_000, outputTokens: 500_000 };
    // Period 0 is still running.
    await state(suite.provider, lease.id, { periodStart: lease.period(0), ...ok }).expect(400);
    await advance(2 * HOUR + 5 * MINUTE);

    // Bad input: each a 400, and nothing written.
    const bad: Body[] = [
      { promptTokens: -1, outputTokens: 0 },
      { promptTokens: 'NaN', outputTokens: 0 },
      { promptTokens: 1.5, outputTokens: 0 },
      { promptTokens: 0, outputTokens: 2 ** 53 },
      { promptTokens: 0, outputTokens: 1e300 },
      { promptTokens: 0, outputTokens: '9223372036854775808' },
      { promptTokens: 0 },
      { promptTokens: 0, outputTokens: 0, tokens: 5 },
    ];
    for (const counts of bad) {
      const res = await state(suite.provider, lease.id, { periodStart: lease.period(1), ...counts });
      expect([counts, res.status, body(res).code]).toEqual([counts, 400, 'VALIDATION_FAILED']);
    }
    await state(suite.provider, lease.id, {
      periodStart: new Date(Date.parse(lease.period(1)) + 1).toISOString(),
      ...ok,
    }).expect(400);
    await state(suite.provider, lease.id, { periodStart: lease.period(4), ...ok }).expect(400);
    expect(await written(lease.id)).toEqual({ counts: 0, disputes: 0, events: 0 });

    // Beyond what one GPU serves in an hour at the declared profile (+10%): 3,600 x 400 x 1.1 output tokens.
    const over = await state(suite.provider, lease.id, {
      periodStart: lease.period(1),
      promptTokens: 0,
      outputTokens: 1_584_001,
    });
    expect(over.status).toBe(422);
    expect(body(over)).toMatchObject({
      code: 'USAGE_ABOVE_CAPACITY',
      details: { reason: 'USAGE_ABOVE_CAPACITY', basis: 'DECLARED', periodGpuSeconds: 3600 },
    });
    expect(await written(lease.id)).toEqual({ counts: 0, disputes: 0, events: 0 });
    const flags = await suite.prisma.usageFlag.findMany({ where: { leaseId: lease.id } });
    expect(flags.map((f) => [f.periodIndex, f.source, f.outputTokens, f.basis])).toEqual([
      [1, 'PROVIDER', 1_584_001n, 'DECLARED'],
    ]);
    // Exactly at the bound it is taken (on another period, below).

    const first = await state(suite.provider, lease.id, { periodStart: lease.period(1), ...ok }).expect(200);
    expect(body(first)).toMatchObject({
      leaseId: lease.id,
      period: 1,
      periodStart: lease.period(1),
      periodEnd: lease.period(2),
      source: 'PROVIDER',
      ...ok,
      dispute: null,
    });
    // The same again is the same answer; other counts are a conflict; an earlier period is out of order.
    expect(
      body(await state(suite.provider, lease.id, { periodStart: lease.period(1), ...ok }).expect(200)),
    ).toEqual(body(first));
    const changed = await state(suite.provider, lease.id, {
      periodStart: lease.period(1),
      ...ok,
      outputTokens: 1,
    }).expect(409);
    expect(body(changed).details).toMatchObject({ reason: 'USAGE_ALREADY_REPORTED' });
    const early = await state(suite.provider, lease.id, { periodStart: lease.period(0), ...ok }).expect(409);
    expect(body(early).details).toMatchObject({ reason: 'USAGE_OUT_OF_ORDER', latestPeriod: 1 });
    expect(await written(lease.id)).toEqual({ counts: 1, disputes: 0, events: 0 });

    // Another tenant's lease is a 404, for writing and reading.
    const stranger = await registerOrganisation(suite.app, 'PROVIDER', { verified: true });
    suite.ids.push(stranger.organisationId);
    await state(stranger, lease.id, { periodStart: lease.period(2), ...ok }).expect(404);
    await http().get(`/v1/leases/${lease.id}/tokens`).set(stranger.auth).expect(404);

    // Period 2 ends at 3 h; at 3 h 35 period 1's grace (to 3 h 30) is over, period 2's is not.
    await advance(HOUR + 30 * MINUTE);
    const late = await state(suite.provider, lease.id, {
      periodStart: lease.period(1),
      ...ok,
      promptTokens: 7,
    }).expect(409);
    expect(body(late).details).toMatchObject({ reason: 'USAGE_ALREADY_REPORTED' });
    const lateBuyer = await state(suite.buyer, lease.id, { periodStart: lease.period(1), ...ok }).expect(409);
    expect(body(lateBuyer).details).toMatchObject({ reason: 'GRACE_OVER' });
    // Exactly the bound is taken.
    await state(suite.provider, lease.id, {
      periodStart: lease.period(2),
      promptTokens: 0,
      outputTokens: 1_584_000,
    }).expect(200);

    const read = body(await http().get(`/v1/leases/${lease.id}/tokens`).set(suite.buyer.auth).expect(200));
    expect(read).toMatchObject({
      leaseId: lease.id,
      periods: [
        {
          period: 1,
          provider: ok,
          buyer: null,
          decided: null,
          standing: { ...ok, source: 'PROVIDER' },
          dispute: null,
        },
        { period: 2, standing: { promptTokens: 0, outputTokens: 1_584_000, source: 'PROVIDER' } },
      ],
    });

    // The flag waits for an admin, whose review is audited once.
    const admin = await signInAdmin();
    const listed = body(await http().get('/admin/usage-flags').set(admin).expect(200)).data as Body[];
    const flag = listed.find((f) => f.leaseId === lease.id);
    expect(flag).toMatchObject({ period: 1, source: 'PROVIDER', outputTokens: '1584001', basis: 'DECLARED' });
    await http()
      .post(`/admin/usage-flags/${String(flag!.id)}/review`)
      .set(admin)
      .send({ note: 'x' })
      .expect(400);
    for (let i = 0; i < 2; i += 1) {
      await http()
        .post(`/admin/usage-flags/${String(flag!.id)}/review`)
        .set(admin)
        .send({ note: 'gateway log shows a counter reset' })
        .expect(200);
    }
    expect(
      await suite.prisma.auditLogEntry.count({
        where: { action: 'usage_flag.review', targetId: String(flag!.id) },
      }),
    ).toBe(1);
  });

  it('bounds counts by the reference ceiling when the offer declares no profile', async () => {
    const lease = await startedLease(1);
    await advance(HOUR + MINUTE);
    // The fastest catalogue model on H100 figures prefills ~60k tokens/s per GPU; 1.5 x that x 1.1 x 3,600 s < 10^9.
    const over = await state(suite.provider, lease.id, {
      periodStart: lease.period(0),
      promptTokens: 1_000_000_000,
      outputTokens: 0,
    }).expect(422);
    expect(body(over).details).toMatchObject({ basis: 'REFERENCE' });
    expect(await written(lease.id)).toEqual({ counts: 0, disputes: 0, events: 0 });
    await state(suite.provider, lease.id, {
      periodStart: lease.period(0),
      promptTokens: 50_000_000,
      outputTokens: 1_000_000,
    }).expect(200);
    await advance(GRACE_MINUTES * MINUTE);
  });

  it('bounds counts by the reference ceiling when the offer’s only declaration awaits review: a flagged claim widens nothing', async () => {
    const lease = await startedLease(1);
    // Ten times the 70B's reference output rate: flagged, pending review, so it does not count.
    const declared = await http()
      .put(`/v1/offers/${lease.offerId}/serving-profiles`)
      .set(suite.provider.auth)
      .send({
        profiles: [
          {
            model: 'llama-3.3-70b-instruct',
            concurrency: 8,
            promptTokensPerSecondPerGpu: 26000,
            outputTokensPerSecondPerGpu: 4000,
            ttftP50Ms: 120,
            ttftP95Ms: 220,
          },
        ],
      })
      .expect(200);
    expect((body(declared).data as Body[])[0]).toMatchObject({ review: 'PENDING_REVIEW' });
    await advance(HOUR + MINUTE);
    const over = await state(suite.provider, lease.id, {
      periodStart: lease.period(0),
      promptTokens: 1_000_000_000,
      outputTokens: 0,
    }).expect(422);
    expect(body(over).details).toMatchObject({ basis: 'REFERENCE' });
    expect(await written(lease.id)).toEqual({ counts: 0, disputes: 0, events: 0 });
    await advance(GRACE_MINUTES * MINUTE);
  });

  it('opens a dispute on mismatched counts, holds the period until an admin decides, then settles it once', async () => {
    // The buyer watches its live stream: dispute events reach both sides as other lease events do.
    const stream = await connectSse(`${await suite.app.getUrl()}/v1/events/stream`, suite.buyer.auth);
    const lease = await startedLease(2);
    await advance(HOUR + 5 * MINUTE);
    // Pay-per-use GPU-seconds as today, and the token counts of both sides.
    await http()
      .post(`/v1/leases/${lease.id}/usage`)
      .set(suite.provider.auth)
      .send({ periodStart: lease.period(0), gpuSeconds: 3600 })
      .expect(200);
    const providerCounts = { promptTokens: 1_000_000, outputTokens: 200_000 };
    await state(suite.provider, lease.id, { periodStart: lease.period(0), ...providerCounts }).expect(200);
    // 30% fewer prompt tokens: beyond max(1,000, 2%).
    const buyerCounts = { promptTokens: 700_000, outputTokens: 199_000 };
    const stated = body(
      await state(suite.buyer, lease.id, { periodStart: lease.period(0), ...buyerCounts }).expect(200),
    );
    expect(stated).toMatchObject({
      source: 'BUYER',
      ...buyerCounts,
      dispute: { kind: 'USAGE', status: 'OPEN', holdsSettlement: true, resolvedAt: null },
    });
    const disputeId = (stated.dispute as Body).id as string;
    // Stated again: the same answer, no second dispute or event.
    expect(
      body(await state(suite.buyer, lease.id, { periodStart: lease.period(0), ...buyerCounts }).expect(200)),
    ).toEqual(stated);
    expect(await written(lease.id)).toEqual({ counts: 2, disputes: 1, events: 1 });
    const opened = await suite.prisma.outboxEvent.findFirstOrThrow({
      where: { aggregateId: lease.id, type: 'dispute.opened' },
    });
    expect([...opened.audience].sort()).toEqual(
      [suite.buyer.organisationId, suite.provider.organisationId].sort(),
    );
    expect(opened.payload).toMatchObject({
      disputeId,
      period: 0,
      holdsSettlement: true,
      usage: { providerPromptTokens: '1000000', buyerPromptTokens: '700000' },
    });

    // Both periods are past their grace: settlement holds period 0, and period 1 behind it.
    await advance(HOUR + GRACE_MINUTES * MINUTE);
    const settlement = suite.app.get(SettlementService);
    expect(await settlement.settleLease(lease.id)).toBe(0);
    await settlement.sweep();
    expect(
      await suite.app.get(JobProducer).queue('settlement').getJob(`settle-${lease.id}-0`),
    ).toBeUndefined();
    expect(await suite.prisma.leasePeriod.count({ where: { leaseId: lease.id } })).toBe(0);
    const tokens = body(
      await http().get(`/v1/leases/${lease.id}/tokens`).set(suite.provider.auth).expect(200),
    );
    expect(tokens.periods).toEqual([
      expect.objectContaining({
        period: 0,
        standing: null,
        dispute: expect.objectContaining({ status: 'OPEN' }) as unknown,
      }),
    ]);

    // The admin's queue shows it with its evidence; a decision without counts or note is a 400.
    const admin = await signInAdmin();
    const open = body(await http().get('/admin/disputes').set(admin).expect(200)).data as Body[];
    expect(open.find((d) => d.id === disputeId)).toMatchObject({
      leaseId: lease.id,
      kind: 'USAGE',
      status: 'OPEN',
      evidence: {
        kind: 'USAGE',
        provider: { promptTokens: '1000000', outputTokens: '200000' },
        buyer: { promptTokens: '700000', outputTokens: '199000' },
      },
      decision: null,
    });
    const resolveUrl = `/admin/disputes/${disputeId}/resolve`;
    await http().post(resolveUrl).set(admin).send({ note: 'no counts' }).expect(400);
    await http()
      .post(resolveUrl)
      .set(admin)
      .send({ note: 'negative', usage: { promptTokens: -1, outputTokens: 0 } })
      .expect(400);
    await http()
      .post(resolveUrl)
      .set(suite.provider.auth)
      .send({ note: 'mine', usage: providerCounts })
      .expect(403);
    await http()
      .post(`/admin/disputes/${randomUUID()}/resolve`)
      .set(admin)
      .send({ note: 'none', usage: providerCounts })
      .expect(404);

    const decided = { promptTokens: 900_000, outputTokens: 199_500 };
    const note = 'gateway logs of both sides reconciled';
    const resolved = body(
      await http().post(resolveUrl).set(admin).send({ note, usage: decided }).expect(200),
    );
    expect(resolved).toMatchObject({
      status: 'RESOLVED',
      decision: { kind: 'USAGE', promptTokens: '900000', outputTokens: '199500' },
      resolvedByUserId: suite.admin.userId,
      resolutionNote: note,
    });
    // The held periods settle, once: period 0 on the reported GPU-seconds, period 1 at the minimum.
    await waitFor('the held periods to settle', async () =>
      (await suite.prisma.leasePeriod.count({ where: { leaseId: lease.id } })) === 2 ? true : undefined,
    );
    // Repeats change nothing: the same decision, the settle job and the sweep.
    await http().post(resolveUrl).set(admin).send({ note, usage: decided }).expect(200);
    const other = await http()
      .post(resolveUrl)
      .set(admin)
      .send({ note, usage: { ...decided, outputTokens: 1 } })
      .expect(409);
    expect(body(other).details).toMatchObject({ reason: 'DISPUTE_RESOLVED' });
    expect(await settlement.settleLease(lease.id)).toBe(0);
    await settlement.sweep();
    await quiet(suite.app);
    const periods = await suite.prisma.leasePeriod.findMany({
      where: { leaseId: lease.id },
      orderBy: { index: 'asc' },
    });
    expect(periods.map((p) => [p.index, p.basis, p.gpuSeconds, p.cost])).toEqual([
      [0, 'REPORTED', 3600n, 1000n],
      [1, 'MINIMUM', 1080n, 300n],
    ]);
    expect(
      await suite.prisma.ledgerTransfer.count({ where: { key: { startsWith: `settle:${lease.id}:` } } }),
    ).toBe(2);
    expect(
      await suite.prisma.auditLogEntry.count({ where: { action: 'dispute.resolve', targetId: disputeId } }),
    ).toBe(1);
    const resolvedEvents = await suite.prisma.outboxEvent.findMany({
      where: { aggregateId: lease.id, type: 'dispute.resolved' },
    });
    expect(resolvedEvents.map((e) => e.payload)).toEqual([
      expect.objectContaining({
        disputeId,
        decidedUsage: { promptTokens: '900000', outputTokens: '199500' },
      }),
    ]);
    const live = await waitFor('both dispute events on the buyer’s stream', () =>
      Promise.resolve(
        stream.events.filter((e) => e.event?.startsWith('dispute.')).length === 2 ? stream.events : undefined,
      ),
    );
    stream.close();
    const disputeEvents = live.filter((e) => e.event?.startsWith('dispute.'));
    expect(disputeEvents.map((e) => e.event)).toEqual(['dispute.opened', 'dispute.resolved']);
    for (const event of disputeEvents) {
      expect(event.data).toContain(disputeId);
      // The buyer does not learn the provider's identity (docs/EVENTS.md, "Who sees whom").
      expect(event.data).not.toContain(suite.provider.organisationId);
    }
    // The decision is what stands for the period, for both sides.
    const after = body(await http().get(`/v1/leases/${lease.id}/tokens`).set(suite.buyer.auth).expect(200));
    expect(after.periods).toEqual([
      expect.objectContaining({
        period: 0,
        decided: expect.objectContaining(decided) as unknown,
        standing: { ...decided, source: 'ADMIN' },
        dispute: expect.objectContaining({ status: 'RESOLVED' }) as unknown,
      }),
    ]);
  });

  it('never opens a dispute that claims to hold a period its racing settlement settled', async () => {
    // RESERVED periods settle at their end, so a statement and the period's settlement can race.
    const lease = await leaseBetween(
      suite.app,
      { provider: suite.provider, buyer: suite.buyer, siteId: suite.site.id },
      { market: suite.market.slug, gpus: 1, price: '10.00', durationHours: 1, billingMode: 'RESERVED' },
    );
    const started = await startLease(suite.app, suite.provider, lease.id);
    await advance(HOUR + MINUTE);
    await state(suite.provider, lease.id, {
      periodStart: started,
      promptTokens: 1_000_000,
      outputTokens: 1_000,
    }).expect(200);
    const [statement, settled] = await Promise.all([
      state(suite.buyer, lease.id, { periodStart: started, promptTokens: 10, outputTokens: 10 }),
      suite.app.get(SettlementService).settleLease(lease.id),
    ]);
    expect(statement.status).toBe(200);
    const dispute = await suite.prisma.periodDispute.findFirstOrThrow({ where: { leaseId: lease.id } });
    // Whichever took the lease's lock first, the other saw it: held exactly when not settled first.
    expect(dispute.holdsSettlement).toBe(settled === 0);
    if (dispute.holdsSettlement) expect(await suite.app.get(SettlementService).settleLease(lease.id)).toBe(0);
    const admin = await signInAdmin();
    await http()
      .post(`/admin/disputes/${dispute.id}/resolve`)
      .set(admin)
      .send({ note: 'race probe', usage: { promptTokens: 10, outputTokens: 10 } })
      .expect(200);
    await waitFor('the period settled once', async () =>
      (await suite.prisma.leasePeriod.count({ where: { leaseId: lease.id } })) === 1 ? true : undefined,
    );
    await quiet(suite.app);
    expect(await suite.prisma.ledgerTransfer.count({ where: { key: `settle:${lease.id}:0` } })).toBe(1);
  });

  it('opens no dispute when the two sides agree within the tolerance', async () => {
    const lease = await startedLease(1);
    await advance(HOUR + MINUTE);
    await state(suite.buyer, lease.id, {
      periodStart: lease.period(0),
      promptTokens: 1_010_000,
      outputTokens: 1_500,
    }).expect(200);
    const res = await state(suite.provider, lease.id, {
      periodStart: lease.period(0),
      promptTokens: 1_000_000,
      outputTokens: 500,
    }).expect(200);
    expect(body(res).dispute).toBeNull();
    expect(await written(lease.id)).toEqual({ counts: 2, disputes: 0, events: 0 });
    await advance(GRACE_MINUTES * MINUTE);
  });
});
