/**
 * The open-loop load generator of `bench:e2e`, a process of its own so that its CPU is its own
 * figure: HTTP/1.1 over a pool of keep-alive connections (undici's `Pool.request`, not `fetch`,
 * whose WHATWG streams cost more than the requests' own work). Pipelining is a setting, off by
 * default: Node's HTTP server answers a connection's pipelined requests one after another, so a
 * request pipelined behind a slow one would wait for it and read as a slow accept. Order `i` of a step
 * is due at `i / rate` seconds and sent then whatever the earlier answers; its latency runs
 * from that due time, so a client or server that falls behind shows up in the latency instead
 * of slowing the schedule (no coordinated omission).
 *
 * The parent (`LoadGenerator`) forks this file and talks to it over IPC: `configure` once with
 * the tenants, then one `step` at a time, optionally cut short with `abort`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Pool } from 'undici';
import { order, type Tenant } from './exchange';

export interface LoadConfig {
  origin: string;
  connections: number;
  pipelining: number;
  providers: Tenant[];
  buyers: Tenant[];
}

export interface StepRequest {
  rate: number;
  seconds: number;
  /** Index of the step's first order in the stream (keeps pairs and markets rotating). */
  offset: number;
  /** Past this many requests without an answer the API is hopelessly behind: the rest count as errors. */
  maxInFlight: number;
  /**
   * Stop sending once the step can no longer be sustained: more than 1% of the planned orders
   * accepted after 1 s or more (so accept p99 >= 1 s) or more than 0.5% failed.
   */
  stopWhenLost: boolean;
}

export interface StepAnswer {
  sent: number;
  accepted: number;
  errors: number;
  /** HTTP status (or "network") -> count, for everything but 201. */
  refusals: Record<string, number>;
  /** Up to 3 bodies of refused orders, to say why. */
  samples: string[];
  /** Flat pairs: ms from the step's start to the order's due time, then ms from due to the 201. */
  accepts: number[];
  /** Per accepted order, in the order of `accepts`: ms from its due time to handing it to the pool. */
  sendLags: number[];
  /** CPU (user + system) this process spent on the step, ms. */
  cpuMs: number;
  /** Whether the step stopped early (aborted by the parent or by `stopWhenLost`). */
  stoppedEarly: boolean;
}

type Command =
  | { type: 'configure'; config: LoadConfig }
  | { type: 'step'; step: StepRequest }
  | { type: 'abort' }
  | { type: 'close' };

/** The parent's handle on the load-generator process. */
export class LoadGenerator {
  private readonly child: ChildProcess;
  private pending: ((answer: StepAnswer) => void) | undefined;
  private failed: ((error: Error) => void) | undefined;

  constructor() {
    this.child = fork(join(__dirname, 'load-generator.js'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (answer: StepAnswer) => {
      const resolve = this.pending;
      this.pending = undefined;
      resolve?.(answer);
    });
    this.child.on('exit', (code, signal) => {
      this.failed?.(new Error(`the load generator exited (${signal ?? code})`));
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  configure(config: LoadConfig): void {
    this.send({ type: 'configure', config });
  }

  step(step: StepRequest): Promise<StepAnswer> {
    return new Promise<StepAnswer>((resolve, reject) => {
      this.pending = resolve;
      this.failed = reject;
      this.send({ type: 'step', step });
    });
  }

  abort(): void {
    this.send({ type: 'abort' });
  }

  /** Ends the process; resolves once it has exited. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.failed = undefined;
    if (this.child.connected) this.send({ type: 'close' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  private send(command: Command): void {
    this.child.send(command);
  }
}

// ---- the child process ----

let config: LoadConfig | undefined;
let pool: Pool | undefined;
let aborted = false;

async function runStep(step: StepRequest): Promise<StepAnswer> {
  const { providers, buyers } = config!;
  const tag = randomBytes(6).toString('hex');
  const total = 2 * Math.round((step.rate * step.seconds) / 2);
  const slowLimit = step.stopWhenLost ? 0.01 * total : Infinity;
  const errorLimit = step.stopWhenLost ? 0.005 * total : Infinity;
  const accepts: number[] = [];
  const sendLags: number[] = [];
  const refusals: Record<string, number> = {};
  const samples: string[] = [];
  let sent = 0;
  let accepted = 0;
  let errors = 0;
  let slow = 0;
  let inFlight = 0;
  aborted = false;
  const refuse = (why: string, body?: string): void => {
    errors += 1;
    refusals[why] = (refusals[why] ?? 0) + 1;
    if (body !== undefined && samples.length < 3) samples.push(`${why} ${body.slice(0, 300)}`);
  };
  const cpu0 = process.cpuUsage();
  const begin = performance.now();
  const send = (i: number, dueMs: number): void => {
    const [path, body, who] = order(step.offset + i, providers, buyers);
    inFlight += 1;
    const lag = performance.now() - begin - dueMs;
    pool!
      .request({
        path,
        method: 'POST',
        // Every POST carries its own Idempotency-Key, so it is safe to pipeline.
        idempotent: true,
        headers: {
          'content-type': 'application/json',
          'idempotency-key': `bench-${tag}-${i}`,
          authorization: who.authorization,
        },
        body: JSON.stringify(body),
      })
      .then(async (res) => {
        const ms = performance.now() - begin - dueMs;
        if (res.statusCode === 201) {
          await res.body.dump();
          accepted += 1;
          accepts.push(dueMs, ms);
          sendLags.push(lag);
          if (ms >= 1_000) slow += 1;
        } else if (samples.length < 3) refuse(String(res.statusCode), await res.body.text());
        else {
          await res.body.dump();
          refuse(String(res.statusCode));
        }
      })
      .catch((error: unknown) => refuse('network', error instanceof Error ? error.message : String(error)))
      .finally(() => {
        inFlight -= 1;
      });
  };
  const interval = 1_000 / step.rate;
  // Stops only between pairs: an offer sent without its bid would rest and read as a backlog.
  const going = (): boolean => sent % 2 === 1 || (!aborted && slow <= slowLimit && errors <= errorLimit);
  while (sent < total && going()) {
    const now = performance.now() - begin;
    while (sent < total && sent * interval <= now) {
      if (inFlight < step.maxInFlight) send(sent, sent * interval);
      else refuse('not sent: too many in flight');
      sent += 1;
    }
    const wait = sent * interval - (performance.now() - begin);
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, wait)));
  }
  const stoppedEarly = sent < total;
  while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  const cpu = process.cpuUsage(cpu0);
  return {
    sent,
    accepted,
    errors,
    refusals,
    samples,
    accepts,
    sendLags,
    cpuMs: (cpu.user + cpu.system) / 1_000,
    stoppedEarly,
  };
}

function child(): void {
  process.on('message', (command: Command) => {
    switch (command.type) {
      case 'configure':
        config = command.config;
        pool = new Pool(config.origin, {
          connections: config.connections,
          pipelining: config.pipelining,
          keepAliveTimeout: 60_000,
        });
        break;
      case 'step':
        runStep(command.step).then(
          (answer) => process.send!(answer),
          (error: unknown) => {
            process.stderr.write(`load generator: ${error instanceof Error ? error.stack : String(error)}\n`);
            process.exit(1);
          },
        );
        break;
      case 'abort':
        aborted = true;
        break;
      case 'close':
        void (pool?.close() ?? Promise.resolve()).finally(() => process.exit(0));
        break;
    }
  });
  // The parent gone (Ctrl-C, a crash): nothing left to measure for.
  process.on('disconnect', () => process.exit(0));
}

if (require.main === module) child();
