const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 };

/** What `npm run clock` was asked: show the instant, move it by an offset, or set it. */
export type ClockCommand = { kind: 'show' } | { kind: 'advance'; ms: number } | { kind: 'set'; at: Date };

/**
 * Reads `+2h`, `-30m`, `+1d12h`, `+90s` (an offset), `now` or an ISO 8601 instant (a new time),
 * or nothing (show). Returns undefined for anything else.
 */
export function parseClockCommand(arg: string | undefined, wallNow: Date): ClockCommand | undefined {
  if (arg === undefined) return { kind: 'show' };
  if (arg === 'now') return { kind: 'set', at: wallNow };
  const offset = /^([+-])((?:\d+[dhms])+)$/.exec(arg);
  if (offset) {
    let ms = 0;
    for (const [, amount, unit] of offset[2]!.matchAll(/(\d+)([dhms])/g))
      ms += Number(amount) * UNIT_MS[unit!]!;
    return { kind: 'advance', ms: offset[1] === '-' ? -ms : ms };
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(arg)) {
    const at = new Date(arg);
    if (!Number.isNaN(at.getTime())) return { kind: 'set', at };
  }
  return undefined;
}
