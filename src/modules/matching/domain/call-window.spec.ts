import { nextClearingAt } from './call-window';

describe('nextClearingAt', () => {
  it('is the next multiple of the window, strictly after now', () => {
    expect(nextClearingAt(0, 1_000, 0)).toBe(1_000);
    expect(nextClearingAt(999, 1_000, 0)).toBe(1_000);
    expect(nextClearingAt(1_000, 1_000, 0)).toBe(2_000);
    expect(nextClearingAt(1_001, 1_000, 0)).toBe(2_000);
    expect(nextClearingAt(1_764_547_200_050, 250, 0)).toBe(1_764_547_200_250);
  });

  it('is shifted by the phase, and still strictly after now', () => {
    expect(nextClearingAt(0, 1_000, 250)).toBe(250);
    expect(nextClearingAt(249, 1_000, 250)).toBe(250);
    expect(nextClearingAt(250, 1_000, 250)).toBe(1_250);
    expect(nextClearingAt(999, 1_000, 250)).toBe(1_250);
    expect(nextClearingAt(1_764_547_200_050, 1_000, 750)).toBe(1_764_547_200_750);
    expect(nextClearingAt(1_764_547_200_800, 1_000, 750)).toBe(1_764_547_201_750);
    // Markets with the same window and different phases never clear at the same instant.
    const at = [0, 500, 250, 750].map((phase) => nextClearingAt(1_764_547_200_000, 1_000, phase));
    expect(new Set(at).size).toBe(4);
  });

  it('refuses a window that is not a positive integer, or a phase outside it', () => {
    expect(() => nextClearingAt(0, 0, 0)).toThrow();
    expect(() => nextClearingAt(0, 1.5, 0)).toThrow();
    expect(() => nextClearingAt(0, 1_000, 1_000)).toThrow();
    expect(() => nextClearingAt(0, 1_000, -1)).toThrow();
    expect(() => nextClearingAt(0, 1_000, 2.5)).toThrow();
  });
});
