import { nextClearingAt } from './call-window';

describe('nextClearingAt', () => {
  it('is the next multiple of the window, strictly after now', () => {
    expect(nextClearingAt(0, 1_000)).toBe(1_000);
    expect(nextClearingAt(999, 1_000)).toBe(1_000);
    expect(nextClearingAt(1_000, 1_000)).toBe(2_000);
    expect(nextClearingAt(1_001, 1_000)).toBe(2_000);
    expect(nextClearingAt(1_764_547_200_050, 250)).toBe(1_764_547_200_250);
  });

  it('refuses a window that is not a positive integer', () => {
    expect(() => nextClearingAt(0, 0)).toThrow();
    expect(() => nextClearingAt(0, 1.5)).toThrow();
  });
});
