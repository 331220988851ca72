/**
 * The simulation report (docs/SIMULATION.md): `report.md` with its SVG charts and `results.json`
 * with the same figures for machines (the CI test reads it).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Analysis } from './analysis';
import { CAUSE_LABELS, CAUSES } from './causes';
import { PROVINCES, provinceName } from './geography';
import type { MatchingMode } from './driver';
import { type Scenario, scenarioTotals } from './scenario';
import { barChart, COLORS, type Series } from './svg';

export interface SeedResult {
  readonly scenario: Scenario;
  readonly optimum: Analysis & { readonly optimal: boolean; readonly bound: number };
  /** The in-process replay of continuous matching (`matchMarket` per arrival): a prediction. */
  readonly predictedContinuous: number;
  readonly modes: Partial<
    Record<MatchingMode, Analysis & { refused: number; retries: number; wallMs: number }>
  >;
}

export interface ReportInput {
  readonly command: string;
  readonly commit: string;
  readonly date: string;
  readonly results: readonly SeedResult[];
  /** Why a requested mode did not run (e.g. no call mode in this build). */
  readonly notes: readonly string[];
}

export const SECTIONS = [
  '## Matched GPU-hours',
  '## The scenario',
  '## Fill by market',
  '## Fill by province',
  '## Idle GPUs by province',
  '## Unmet demand by cause',
  '## Prices by market',
  '## Rules checked',
] as const;

export const TARGETS = { CALL: 0.97, CONTINUOUS: 0.94 } as const;

const pct = (value: number): string => `${(100 * value).toFixed(1)}%`;
const int = (value: number): string => Math.round(value).toLocaleString('en-US');
const cny = (minor: number): string => (minor / 100).toFixed(2);
const share = (part: number, whole: number): number => (whole > 0 ? part / whole : 0);

const MODE_COLORS: Record<MatchingMode, string> = { CONTINUOUS: COLORS.continuous, CALL: COLORS.call };
const MODE_NAMES: Record<MatchingMode, string> = { CONTINUOUS: 'continuous', CALL: 'call (1 s)' };

function sum<T>(items: readonly T[], value: (item: T) => number): number {
  return items.reduce((total, item) => total + value(item), 0);
}

/** Writes the report into `dir`; answers the Markdown path. */
export function writeReport(dir: string, input: ReportInput): string {
  mkdirSync(dir, { recursive: true });
  const { results } = input;
  const modes = (['CONTINUOUS', 'CALL'] as const).filter((m) =>
    results.some((r) => r.modes[m] !== undefined),
  );
  const optimumTotal = sum(results, (r) => r.optimum.gpuHours);
  const modeTotal = (mode: MatchingMode): number => sum(results, (r) => r.modes[mode]?.gpuHours ?? 0);
  const lines: string[] = [];
  const chart = (file: string, svg: string, alt: string): void => {
    writeFileSync(join(dir, file), svg);
    lines.push(`![${alt}](${file})`, '');
  };

  lines.push(
    '# Simulated market: the exchange against the offline optimum',
    '',
    `\`${input.command}\` · commit ${input.commit} · ${input.date} · scenario **${results[0]?.scenario.name ?? '-'}** · seeds ${results.map((r) => r.scenario.seed).join(', ')}`,
    '',
    'How the scenario is generated and what each figure means: docs/SIMULATION.md.',
    '',
  );
  for (const note of input.notes) lines.push(`> ${note}`, '');

  // Matched GPU-hours
  lines.push(SECTIONS[0], '');
  lines.push(
    `| seed | optimum GPU-h | ${modes.map((m) => `${MODE_NAMES[m]} GPU-h | share`).join(' | ')} | continuous predicted in-process |`,
    `| ---: | ---: | ${modes.map(() => '---: | ---:').join(' | ')} | ---: |`,
  );
  for (const r of results) {
    const cells = modes.map((m) => {
      const a = r.modes[m];
      return a === undefined ? '- | -' : `${int(a.gpuHours)} | ${pct(share(a.gpuHours, r.optimum.gpuHours))}`;
    });
    lines.push(
      `| ${r.scenario.seed} | ${int(r.optimum.gpuHours)}${r.optimum.optimal ? '' : ` (bound ${int(r.optimum.bound)})`} | ${cells.join(' | ')} | ${pct(share(r.predictedContinuous, r.optimum.gpuHours))} |`,
    );
  }
  lines.push(
    `| **all** | **${int(optimumTotal)}** | ${modes.map((m) => `**${int(modeTotal(m))}** | **${pct(share(modeTotal(m), optimumTotal))}**`).join(' | ')} | ${pct(
      share(
        sum(results, (r) => r.predictedContinuous),
        optimumTotal,
      ),
    )} |`,
    '',
  );
  for (const mode of modes) {
    const worst = Math.min(...results.map((r) => share(r.modes[mode]?.gpuHours ?? 0, r.optimum.gpuHours)));
    const best = Math.max(...results.map((r) => share(r.modes[mode]?.gpuHours ?? 0, r.optimum.gpuHours)));
    const target =
      mode === 'CALL'
        ? `target at least ${pct(TARGETS.CALL)} on every seed: ${worst >= TARGETS.CALL ? 'met' : 'not met'}`
        : `target at most ${pct(TARGETS.CONTINUOUS)} on every seed (contention): ${best <= TARGETS.CONTINUOUS ? 'met' : 'not met'}`;
    lines.push(`- ${MODE_NAMES[mode]}: ${pct(worst)} to ${pct(best)} of the optimum per seed; ${target}.`);
  }
  lines.push('');
  chart(
    'share-of-optimum.svg',
    barChart({
      title: 'Matched GPU-hours as a share of the offline optimum',
      categories: [...results.map((r) => `seed ${r.scenario.seed}`), 'all seeds'],
      series: modes.map((m) => ({
        name: MODE_NAMES[m],
        color: MODE_COLORS[m],
        values: [
          ...results.map((r) =>
            r.modes[m] === undefined ? null : share(r.modes[m].gpuHours, r.optimum.gpuHours),
          ),
          share(modeTotal(m), optimumTotal),
        ],
      })),
      format: pct,
      max: 1,
      marks: [
        { value: TARGETS.CONTINUOUS, label: '94%', color: COLORS.continuous },
        { value: TARGETS.CALL, label: '97%', color: COLORS.call },
      ],
    }),
    'matched GPU-hours as a share of the optimum',
  );

  // The scenario
  lines.push(SECTIONS[1], '');
  lines.push(
    '| seed | sites | provinces | cities | providers | buyers | GPUs installed | offered (idle) | offers | bids | GPUs wanted | GPU-h wanted | arrivals over |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of results) {
    const t = scenarioTotals(r.scenario);
    const wantedHours = sum(r.scenario.bids, (b) => b.gpus * b.durationHours);
    lines.push(
      `| ${r.scenario.seed} | ${r.scenario.sites.length} | ${t.provinces} | ${t.cities} | ${r.scenario.providers} | ${r.scenario.buyers} | ${int(t.installed)} | ${int(t.offered)} (${pct(share(t.offered, t.installed))}) | ${r.scenario.offers.length} | ${r.scenario.bids.length} | ${int(t.wanted)} | ${int(wantedHours)} | ${((r.scenario.horizonEnd - r.scenario.t0) / 1000).toFixed(0)} s |`,
    );
  }
  lines.push('');

  // Fill by market
  const markets = results[0]?.scenario.markets.map((m) => m.slug) ?? [];
  const marketFill = (pick: (r: SeedResult) => Analysis | undefined, slug: string): number | null => {
    const chosen = results.map(pick).filter((a): a is Analysis => a !== undefined);
    if (chosen.length === 0) return null;
    return share(
      sum(chosen, (a) => a.byMarket.get(slug)?.filledGpuHours ?? 0),
      sum(chosen, (a) => a.byMarket.get(slug)?.wantedGpuHours ?? 0),
    );
  };
  const allocations: { name: string; color: string; pick: (r: SeedResult) => Analysis | undefined }[] = [
    { name: 'optimum', color: COLORS.optimum, pick: (r) => r.optimum },
    ...modes.map((m) => ({
      name: MODE_NAMES[m],
      color: MODE_COLORS[m],
      pick: (r: SeedResult) => r.modes[m],
    })),
  ];
  lines.push(
    SECTIONS[2],
    '',
    'GPU-hours filled as a share of the GPU-hours the bids asked for, all seeds together.',
    '',
  );
  lines.push(
    `| market | GPU-h wanted | ${allocations.map((a) => a.name).join(' | ')} |`,
    `| --- | ---: | ${allocations.map(() => '---:').join(' | ')} |`,
  );
  for (const slug of markets) {
    const wanted = sum(results, (r) => r.optimum.byMarket.get(slug)?.wantedGpuHours ?? 0);
    lines.push(
      `| ${slug} | ${int(wanted)} | ${allocations.map((a) => pct(marketFill(a.pick, slug) ?? 0)).join(' | ')} |`,
    );
  }
  lines.push('');
  chart(
    'fill-by-market.svg',
    barChart({
      title: 'Fill by market: GPU-hours filled / GPU-hours wanted',
      categories: markets,
      series: allocations.map((a): Series => ({
        name: a.name,
        color: a.color,
        values: markets.map((slug) => marketFill(a.pick, slug)),
      })),
      format: pct,
      max: 1,
    }),
    'fill by market',
  );

  // Fill by province and idle share
  const provinces = PROVINCES.map((p) => p.code).filter((code) =>
    results.some((r) => r.optimum.byProvince.has(code)),
  );
  const provinceSum = (
    pick: (r: SeedResult) => Analysis | undefined,
    code: string,
    field: 'installedGpus' | 'offeredGpus' | 'leasedGpus',
  ): number => sum(results, (r) => pick(r)?.byProvince.get(code)?.[field] ?? 0);
  const ordered = [...provinces].sort(
    (a, b) =>
      provinceSum((r) => r.optimum, b, 'offeredGpus') - provinceSum((r) => r.optimum, a, 'offeredGpus'),
  );
  lines.push(
    SECTIONS[3],
    '',
    'Share of the offered (idle) GPUs leased, by the province of the site, all seeds together.',
    '',
  );
  lines.push(
    `| province | GPUs offered | ${allocations.map((a) => a.name).join(' | ')} |`,
    `| --- | ---: | ${allocations.map(() => '---:').join(' | ')} |`,
  );
  for (const code of ordered) {
    const offered = provinceSum((r) => r.optimum, code, 'offeredGpus');
    lines.push(
      `| ${provinceName(code)} | ${int(offered)} | ${allocations.map((a) => (results.some((r) => a.pick(r) !== undefined) ? pct(share(provinceSum(a.pick, code, 'leasedGpus'), offered)) : '-')).join(' | ')} |`,
    );
  }
  lines.push('');
  chart(
    'fill-by-province.svg',
    barChart({
      title: 'Fill by province: GPUs leased / GPUs offered',
      categories: ordered.map(provinceName),
      series: allocations.map((a): Series => ({
        name: a.name,
        color: a.color,
        values: ordered.map((code) =>
          share(
            provinceSum(a.pick, code, 'leasedGpus'),
            provinceSum((r) => r.optimum, code, 'offeredGpus'),
          ),
        ),
      })),
      format: pct,
      max: 1,
    }),
    'fill by province',
  );

  lines.push(
    SECTIONS[4],
    '',
    'Share of the installed GPUs standing idle: before any bid (offered), and after the bids in each allocation.',
    '',
  );
  const idle = (pick: ((r: SeedResult) => Analysis | undefined) | null, code: string): number => {
    const installed = provinceSum((r) => r.optimum, code, 'installedGpus');
    const offered = provinceSum((r) => r.optimum, code, 'offeredGpus');
    return share(offered - (pick === null ? 0 : provinceSum(pick, code, 'leasedGpus')), installed);
  };
  lines.push(
    `| province | GPUs installed | idle before | ${allocations.map((a) => `after, ${a.name}`).join(' | ')} |`,
    `| --- | ---: | ---: | ${allocations.map(() => '---:').join(' | ')} |`,
  );
  for (const code of ordered)
    lines.push(
      `| ${provinceName(code)} | ${int(provinceSum((r) => r.optimum, code, 'installedGpus'))} | ${pct(idle(null, code))} | ${allocations.map((a) => pct(idle(a.pick, code))).join(' | ')} |`,
    );
  const totalInstalled = sum(ordered, (code) => provinceSum((r) => r.optimum, code, 'installedGpus'));
  const totalOffered = sum(ordered, (code) => provinceSum((r) => r.optimum, code, 'offeredGpus'));
  lines.push(
    `| **all** | **${int(totalInstalled)}** | **${pct(share(totalOffered, totalInstalled))}** | ${allocations.map((a) => `**${pct(share(totalOffered - sum(ordered, (code) => provinceSum(a.pick, code, 'leasedGpus')), totalInstalled))}**`).join(' | ')} |`,
    '',
  );
  chart(
    'idle-by-province.svg',
    barChart({
      title: 'Idle share of installed GPUs by province',
      categories: ordered.map(provinceName),
      series: [
        {
          name: 'before the bids',
          color: COLORS.idleBefore,
          values: ordered.map((code) => idle(null, code)),
        },
        ...modes.map((m): Series => ({
          name: `after, ${MODE_NAMES[m]}`,
          color: MODE_COLORS[m],
          values: ordered.map((code) => idle((r) => r.modes[m], code)),
        })),
      ],
      format: pct,
      max: 1,
    }),
    'idle share of GPUs by province',
  );

  // Unmet demand
  lines.push(
    SECTIONS[5],
    '',
    "GPU-hours the bids asked for and did not get, all seeds together, by the first rule that left a bid no supply in the book as it stood before any bid (docs/SIMULATION.md); 'capacity taken' means eligible supply existed but went to other bids.",
    '',
  );
  lines.push(
    `| cause | ${allocations.map((a) => a.name).join(' | ')} |`,
    `| --- | ${allocations.map(() => '---:').join(' | ')} |`,
  );
  for (const cause of CAUSES)
    lines.push(
      `| ${CAUSE_LABELS[cause]} | ${allocations.map((a) => int(sum(results, (r) => a.pick(r)?.unmet[cause] ?? 0))).join(' | ')} |`,
    );
  lines.push('');
  chart(
    'unmet-by-cause.svg',
    barChart({
      title: 'Unmet demand by cause (GPU-hours)',
      categories: allocations.map((a) => a.name),
      series: CAUSES.map((cause, i): Series => ({
        name: cause.toLowerCase().replace('_', ' '),
        color: COLORS.causes[i]!,
        values: allocations.map((a) => sum(results, (r) => a.pick(r)?.unmet[cause] ?? 0)),
      })),
      format: int,
      stacked: true,
    }),
    'unmet demand by cause',
  );

  // Prices
  lines.push(
    SECTIONS[6],
    '',
    'CNY per GPU-hour; trades are pay-as-ask for a bid meeting resting offers. VWAP weighs by GPU-hours.',
    '',
  );
  lines.push(
    `| market | reference | ${allocations.map((a) => `VWAP ${a.name} (min-max)`).join(' | ')} |`,
    `| --- | ---: | ${allocations.map(() => '---:').join(' | ')} |`,
  );
  const vwap = (
    pick: (r: SeedResult) => Analysis | undefined,
    slug: string,
  ): { vwap: number | null; min: number | null; max: number | null } => {
    const figures = results
      .map((r) => pick(r)?.byMarket.get(slug))
      .filter((f) => f !== undefined && f.vwap !== null);
    if (figures.length === 0) return { vwap: null, min: null, max: null };
    const volume = sum(figures, (f) => f!.filledGpuHours);
    return {
      vwap: Math.round(sum(figures, (f) => f!.vwap! * f!.filledGpuHours) / volume),
      min: Math.min(...figures.map((f) => f!.minPrice!)),
      max: Math.max(...figures.map((f) => f!.maxPrice!)),
    };
  };
  for (const market of results[0]?.scenario.markets ?? []) {
    lines.push(
      `| ${market.slug} | ${cny(market.reference)} | ${allocations
        .map((a) => {
          const p = vwap(a.pick, market.slug);
          return p.vwap === null ? '-' : `${cny(p.vwap)} (${cny(p.min!)}-${cny(p.max!)})`;
        })
        .join(' | ')} |`,
    );
  }
  lines.push('');
  chart(
    'prices-by-market.svg',
    barChart({
      title: 'Prices by market (CNY per GPU-hour)',
      categories: markets,
      series: [
        {
          name: 'reference',
          color: '#c7c7c7',
          values: (results[0]?.scenario.markets ?? []).map((m) => m.reference / 100),
        },
        ...allocations.map((a): Series => ({
          name: `VWAP ${a.name}`,
          color: a.color,
          values: markets.map((slug) => {
            const p = vwap(a.pick, slug).vwap;
            return p === null ? null : p / 100;
          }),
        })),
      ],
      format: (v) => v.toFixed(2),
    }),
    'prices by market',
  );

  // Rules
  lines.push(SECTIONS[7], '');
  lines.push(
    'Each lease is checked against its bid and offer as generated: every rule of docs/MATCHING.md "Eligibility of a pair" but capacity at the bid\'s arrival, the price between ask and cap, no bid over-filled, all-or-nothing bids whole, each site at least the bid\'s minimum, no offer leased past its GPUs.',
    '',
  );
  for (const r of results) {
    for (const mode of modes) {
      const a = r.modes[mode];
      if (a === undefined) continue;
      lines.push(
        `- seed ${r.scenario.seed}, ${MODE_NAMES[mode]}: ${a.violations.length === 0 ? 'no rule broken' : `${a.violations.length} broken: ${a.violations.slice(0, 5).join('; ')}`}; ${a.refused} bids refused by the API; ${a.retries} requests answered 5xx or 429 and retried so far in the drive; ${(a.wallMs / 1000).toFixed(0)} s on the exchange.`,
      );
    }
  }
  lines.push('');
  const path = join(dir, 'report.md');
  writeFileSync(path, lines.join('\n'));
  writeFileSync(join(dir, 'results.json'), `${JSON.stringify(resultsJson(input), null, 2)}\n`);
  return path;
}

function resultsJson(input: ReportInput): unknown {
  return {
    command: input.command,
    commit: input.commit,
    date: input.date,
    notes: input.notes,
    seeds: input.results.map((r) => ({
      seed: r.scenario.seed,
      scenario: r.scenario.name,
      ...scenarioTotals(r.scenario),
      sites: r.scenario.sites.length,
      bids: r.scenario.bids.length,
      optimum: {
        gpuHours: r.optimum.gpuHours,
        optimal: r.optimum.optimal,
        bound: r.optimum.bound,
        violations: r.optimum.violations,
      },
      predictedContinuous: r.predictedContinuous,
      modes: Object.fromEntries(
        Object.entries(r.modes).map(([mode, a]) => [
          mode,
          {
            gpuHours: a.gpuHours,
            share: share(a.gpuHours, r.optimum.gpuHours),
            gpus: a.gpus,
            bidsFilled: a.bidsFilled,
            unmet: a.unmet,
            refused: a.refused,
            retries: a.retries,
            violations: a.violations,
            wallMs: a.wallMs,
          },
        ]),
      ),
    })),
  };
}
