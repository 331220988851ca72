/**
 * Runs an async pass when woken, never two at once, and at most once per `minIntervalMs` (start
 * to start): wakes during a pass or inside the interval fold into one later pass. No wake is
 * lost: every `wake()` is followed by a pass that starts after it. For background work woken
 * per event (a burst of a hundred wakes costs one or two passes, not a hundred).
 */
export class CoalescedRunner {
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private again = false;
  private stopped = false;
  private lastStart = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly minIntervalMs: number,
    private readonly onError: (error: Error) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  wake(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    if (this.timer !== undefined) return;
    const wait = this.lastStart + this.minIntervalMs - this.now();
    if (wait <= 0) this.start();
    else this.timer = setTimeout(() => this.start(), wait);
  }

  /** No new pass starts; resolves once the one in flight has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** The pass in flight, if any (resolves when it ends; never rejects). */
  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private start(): void {
    this.timer = undefined;
    if (this.stopped) return;
    this.again = false;
    this.lastStart = this.now();
    this.running = this.pass()
      .catch((error: unknown) => this.onError(error instanceof Error ? error : new Error(String(error))))
      .finally(() => {
        this.running = undefined;
        if (this.again) this.wake();
      });
  }
}
