import { CoalescedRunner } from './coalesced-runner';

describe('CoalescedRunner', () => {
  let clock = 0;
  let starts: number[];
  let finish: Array<() => void>;
  let errors: Error[];

  /** A runner whose passes end when the test says so, on a clock the test moves. */
  function runner(minIntervalMs: number, fail = false): CoalescedRunner {
    return new CoalescedRunner(
      () =>
        new Promise<void>((resolve, reject) => {
          starts.push(clock);
          finish.push(() => (fail ? reject(new Error('pass failed')) : resolve()));
        }),
      minIntervalMs,
      (error) => errors.push(error),
      () => clock,
    );
  }

  async function advance(ms: number): Promise<void> {
    clock += ms;
    await jest.advanceTimersByTimeAsync(ms);
  }

  async function endPass(): Promise<void> {
    finish.shift()!();
    await jest.advanceTimersByTimeAsync(0);
  }

  beforeEach(() => {
    jest.useFakeTimers();
    clock = 1_000;
    starts = [];
    finish = [];
    errors = [];
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  it('starts the first pass at once', () => {
    runner(250).wake();
    expect(starts).toEqual([1_000]);
  });

  it('folds wakes during a pass into one more pass after it', async () => {
    const r = runner(0);
    r.wake();
    for (let i = 0; i < 50; i += 1) r.wake();
    expect(starts).toHaveLength(1);
    await endPass();
    expect(starts).toHaveLength(2);
    await endPass();
    expect(starts).toHaveLength(2);
  });

  it('keeps passes at least the interval apart, start to start, and loses no wake', async () => {
    const r = runner(250);
    r.wake();
    await advance(10);
    await endPass();
    // Woken 10 ms after the first start: the next pass waits until 250 ms after it.
    r.wake();
    r.wake();
    await advance(200);
    expect(starts).toEqual([1_000]);
    await advance(40);
    expect(starts).toEqual([1_000, 1_250]);
    await endPass();
    // Woken long after: at once.
    await advance(1_000);
    r.wake();
    expect(starts).toEqual([1_000, 1_250, 2_250]);
  });

  it('a burst of wakes over a second costs about one pass per interval', async () => {
    const r = runner(250);
    for (let t = 0; t < 1_000; t += 5) {
      r.wake();
      await advance(5);
      if (finish.length > 0) await endPass();
    }
    await advance(250);
    if (finish.length > 0) await endPass();
    // 200 wakes; passes at 0, 250, 500, 750 and the trailing one for the last wakes.
    expect(starts.length).toBeGreaterThanOrEqual(4);
    expect(starts.length).toBeLessThanOrEqual(5);
    for (let i = 1; i < starts.length; i += 1)
      expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(250);
  });

  it('reports a failed pass and runs again on the next wake', async () => {
    const r = runner(0, true);
    r.wake();
    await endPass();
    expect(errors.map((e) => e.message)).toEqual(['pass failed']);
    r.wake();
    expect(starts).toHaveLength(2);
  });

  it('stop waits for the pass in flight and starts no other', async () => {
    const r = runner(250);
    r.wake();
    r.wake();
    let stopped = false;
    const stopping = r.stop().then(() => {
      stopped = true;
    });
    await jest.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    await endPass();
    await stopping;
    expect(stopped).toBe(true);
    r.wake();
    await advance(1_000);
    expect(starts).toHaveLength(1);
  });

  it('stop cancels a pass waiting for its interval', async () => {
    const r = runner(250);
    r.wake();
    await endPass();
    r.wake();
    await r.stop();
    await advance(1_000);
    expect(starts).toHaveLength(1);
  });
});
