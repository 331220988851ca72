import { waitingAgeSeconds } from './queue-backlog';

describe('waitingAgeSeconds', () => {
  const now = 1_764_600_000_000;

  it('counts from creation for a job added to wait at once', () => {
    expect(waitingAgeSeconds({ timestamp: now - 90_000 }, now)).toBe(90);
    expect(waitingAgeSeconds({ timestamp: now - 90_000, delay: 0 }, now)).toBe(90);
  });

  it('counts a delayed job or a retry from the end of its delay', () => {
    expect(waitingAgeSeconds({ timestamp: now - 90_000, delay: 60_000 }, now)).toBe(30);
  });

  it('is never negative (a clock a little behind the job’s stamp)', () => {
    expect(waitingAgeSeconds({ timestamp: now + 5_000 }, now)).toBe(0);
    expect(waitingAgeSeconds({ timestamp: now - 1_000, delay: 10_000 }, now)).toBe(0);
  });
});
