import { parseClockCommand } from './clock-shift';

describe('parseClockCommand', () => {
  const wall = new Date('2027-01-01T00:00:00Z');

  it('reads offsets forwards and backwards, units combined', () => {
    expect(parseClockCommand('+2h', wall)).toEqual({ kind: 'advance', ms: 7_200_000 });
    expect(parseClockCommand('-30m', wall)).toEqual({ kind: 'advance', ms: -1_800_000 });
    expect(parseClockCommand('+1d12h', wall)).toEqual({ kind: 'advance', ms: 129_600_000 });
    expect(parseClockCommand('+90s', wall)).toEqual({ kind: 'advance', ms: 90_000 });
  });

  it('sets an instant, or the wall time with now, and shows without an argument', () => {
    expect(parseClockCommand('2027-03-01T08:00:00Z', wall)).toEqual({
      kind: 'set',
      at: new Date('2027-03-01T08:00:00Z'),
    });
    expect(parseClockCommand('now', wall)).toEqual({ kind: 'set', at: wall });
    expect(parseClockCommand(undefined, wall)).toEqual({ kind: 'show' });
  });

  it('refuses anything else', () => {
    for (const bad of ['2h', '+2', '+2w', '+h', 'tomorrow', '2027-13-45T00:00:00Z', '+-2h'])
      expect(parseClockCommand(bad, wall)).toBeUndefined();
  });
});
