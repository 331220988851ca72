/**
 * Hand-written SVG charts for the simulation report: horizontal bars, grouped or stacked, with
 * their values printed, so a chart reads at a glance and diffs as text. No dependencies.
 */

export interface Series {
  readonly name: string;
  readonly color: string;
  /** One value per category; null draws nothing (no data). */
  readonly values: readonly (number | null)[];
}

export interface BarChart {
  readonly title: string;
  readonly categories: readonly string[];
  readonly series: readonly Series[];
  /** How a value is printed next to its bar. */
  readonly format: (value: number) => string;
  /** Axis end; the largest value (or 1) when absent. */
  readonly max?: number;
  /** Vertical reference lines, e.g. targets. */
  readonly marks?: readonly { value: number; label: string; color: string }[];
  /** Stack the series in one bar per category instead of one bar each. */
  readonly stacked?: boolean;
}

export const COLORS = {
  optimum: '#7f7f7f',
  continuous: '#d62728',
  call: '#1f77b4',
  offered: '#9ecae1',
  leased: '#08519c',
  idleBefore: '#fdae6b',
  idleAfter: '#e6550d',
  causes: ['#8c564b', '#9467bd', '#bcbd22', '#17becf'],
} as const;

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const LABEL_WIDTH = 190;
const PLOT_WIDTH = 470;
const VALUE_WIDTH = 90;
const BAR = 14;
const GAP = 8;

/** The chart as a standalone SVG document. */
export function barChart(chart: BarChart): string {
  const stacked = chart.stacked ?? false;
  const barsPerRow = stacked ? 1 : chart.series.length;
  const rowHeight = barsPerRow * BAR + GAP;
  const top = 40;
  const legendHeight = 22;
  const plotHeight = chart.categories.length * rowHeight;
  const height = top + plotHeight + 30 + legendHeight;
  const width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH;
  const totals = chart.categories.map((_, c) =>
    stacked
      ? chart.series.reduce((sum, s) => sum + (s.values[c] ?? 0), 0)
      : Math.max(0, ...chart.series.map((s) => s.values[c] ?? 0)),
  );
  const max = chart.max ?? Math.max(1e-9, ...totals, ...(chart.marks ?? []).map((m) => m.value));
  const x = (value: number): number => LABEL_WIDTH + (Math.min(value, max) / max) * PLOT_WIDTH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${escape(chart.title)}</text>`,
    `<line x1="${LABEL_WIDTH}" y1="${top - 4}" x2="${LABEL_WIDTH}" y2="${top + plotHeight}" stroke="#333"/>`,
  ];
  for (const [c, category] of chart.categories.entries()) {
    const y0 = top + c * rowHeight;
    parts.push(
      `<text x="${LABEL_WIDTH - 6}" y="${y0 + (barsPerRow * BAR) / 2 + 4}" text-anchor="end">${escape(category)}</text>`,
    );
    let offset = 0;
    for (const [s, series] of chart.series.entries()) {
      const value = series.values[c];
      if (value === null || value === undefined) continue;
      const y = stacked ? y0 : y0 + s * BAR;
      const start = stacked ? x(offset) : LABEL_WIDTH;
      const end = stacked ? x(offset + value) : x(value);
      parts.push(
        `<rect x="${start.toFixed(1)}" y="${y}" width="${Math.max(0, end - start).toFixed(1)}" height="${BAR - 2}" fill="${series.color}"><title>${escape(`${series.name}: ${chart.format(value)}`)}</title></rect>`,
      );
      if (!stacked)
        parts.push(
          `<text x="${(end + 4).toFixed(1)}" y="${y + BAR - 4}" font-size="11">${escape(chart.format(value))}</text>`,
        );
      offset += value;
    }
    if (stacked)
      parts.push(
        `<text x="${(x(offset) + 4).toFixed(1)}" y="${y0 + BAR - 4}" font-size="11">${escape(chart.format(offset))}</text>`,
      );
  }
  for (const mark of chart.marks ?? []) {
    const mx = x(mark.value).toFixed(1);
    parts.push(
      `<line x1="${mx}" y1="${top - 8}" x2="${mx}" y2="${top + plotHeight}" stroke="${mark.color}" stroke-dasharray="4 3"/>`,
      `<text x="${mx}" y="${top - 10}" text-anchor="middle" font-size="11" fill="${mark.color}">${escape(mark.label)}</text>`,
    );
  }
  const axisY = top + plotHeight + 14;
  for (let i = 0; i <= 4; i += 1) {
    const value = (max * i) / 4;
    parts.push(
      `<text x="${x(value).toFixed(1)}" y="${axisY}" text-anchor="middle" font-size="10" fill="#555">${escape(chart.format(value))}</text>`,
    );
  }
  let lx = LABEL_WIDTH;
  const ly = axisY + 18;
  for (const series of chart.series) {
    parts.push(
      `<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${series.color}"/>`,
      `<text x="${lx + 16}" y="${ly}">${escape(series.name)}</text>`,
    );
    lx += 24 + series.name.length * 6.5;
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
