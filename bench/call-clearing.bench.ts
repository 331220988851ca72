/**
 * `npm run bench:clearing`: solve time (CPU p50/p99, after warm-up) of a call clearing against window size, 10 to
 * 1,000 bids over 200 offers, on seeded books (bench/call-clearing.ts). Prints figures only.
 *
 *   BENCH_WINDOWS=10,100 npm run bench:clearing   # a quicker look
 *   BENCH_CLEARINGS=5 npm run bench:clearing      # clearings per window size (default 30, 10 at 1,000)
 */
import { cpus } from 'node:os';
import { measureCallClearing } from './call-clearing';

const WINDOWS = (process.env.BENCH_WINDOWS ?? '10,100,1000').split(',').map(Number);
const CLEARINGS = process.env.BENCH_CLEARINGS === undefined ? undefined : Number(process.env.BENCH_CLEARINGS);

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
  const figures = await measureCallClearing(WINDOWS, CLEARINGS === undefined ? undefined : () => CLEARINGS);
  print(`call clearing, 200 offers, Node ${process.version}, ${cpus()[0]?.model ?? 'cpu'} x${cpus().length}`);
  print(
    '| bids in window | clearings | CPU p50 ms | CPU p99 ms | CPU max ms | wall p50 ms | components | limited solves | GPU-hours vs continuous |',
  );
  print('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const f of figures) {
    print(
      `| ${f.windowOrders} | ${f.clearings} | ${f.p50Ms.toFixed(1)} | ${f.p99Ms.toFixed(1)} | ${f.maxMs.toFixed(1)} | ${f.wallP50Ms.toFixed(1)} | ` +
        `${f.components.toFixed(1)} | ${f.limited} | ${f.gpuHoursVsContinuous.toFixed(4)} |`,
    );
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exitCode = 1;
});
