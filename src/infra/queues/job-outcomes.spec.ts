import { failureOutcome, outcomeField, parseOutcomes } from './job-outcomes';

describe('job outcomes', () => {
  it('names the field by outcome, queue and catalogue job, folding strangers into unknown', () => {
    expect(outcomeField('matching', 'matching.run', 'completed')).toBe('completed|matching|matching.run');
    expect(outcomeField('maintenance', 'maintenance.nope', 'failed')).toBe('failed|maintenance|unknown');
    expect(outcomeField('elsewhere', 'matching.run', 'retried')).toBe('retried|unknown|matching.run');
  });

  it('calls a failure final only once BullMQ has moved the job to the failed set', () => {
    expect(failureOutcome({ finishedOn: 1_764_600_000_000 })).toBe('failed');
    expect(failureOutcome({})).toBe('retried');
    expect(failureOutcome({ finishedOn: undefined })).toBe('retried');
  });

  it('reads the hash back as counts and skips fields that are not its own', () => {
    const counts = parseOutcomes({
      'completed|matching|matching.run': '12',
      'failed|maintenance|unknown': '1',
      'retried|settlement|settlement.settle-lease': '3',
      'completed|matching|matching.nope': '5',
      'exploded|matching|matching.run': '5',
      'completed|matching|matching.run|extra': '5',
      'completed|nowhere|matching.run': '5',
      'failed|events|events.deliver': 'NaN',
      'failed|events|events.deliver ': '-1',
    });
    expect(counts).toEqual([
      { queue: 'maintenance', job: 'unknown', outcome: 'failed', count: 1 },
      { queue: 'matching', job: 'matching.run', outcome: 'completed', count: 12 },
      { queue: 'settlement', job: 'settlement.settle-lease', outcome: 'retried', count: 3 },
    ]);
  });
});
