/**
 * `npm run simulate`: the article's market, simulated (docs/SIMULATION.md). For each seed it
 * generates the scenario, computes the offline optimum, drives the scenario through the built
 * exchange in each matching mode asked for, and writes the report (report.md, SVG charts,
 * results.json) into dist/simulate/ or --out.
 *
 *   npm run simulate                               # the default seeds, both modes
 *   npm run simulate -- --small                    # a few sites and bids (CI)
 *   npm run simulate -- --seeds 20270101 --mode continuous
 *   npm run simulate -- --offline                  # in-process replays only, no exchange (tuning)
 *
 * Options: --seeds a,b,c · --small · --mode call|continuous|both · --out <dir> · --speed <x>
 * (arrivals x times faster than real time) · --single-process (dist/main.js) · --offline.
 * Environment: SIM_DATABASE_SERVER, SIM_REDIS_URL, SIM_DB_PREFIX, SIM_REDIS_PREFIX, SIM_PORT.
 * Ctrl-C or a failure stops the processes and drops the databases and Redis keys it made.
 */
import { stopAll } from './driver';
import { simulate } from './run';

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`simulate: ${signal}, cleaning up\n`);
    void stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}

simulate(process.argv.slice(2)).then(
  () => process.exit(0),
  async (error: unknown) => {
    process.stderr.write(`simulate: ${(error as Error).stack ?? String(error)}\n`);
    await stopAll().catch(() => undefined);
    process.exit(1);
  },
);
