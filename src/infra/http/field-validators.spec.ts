import { validateSync } from 'class-validator';
import { IsDivisionCode, IsInstant, IsMarketSlug, IsSafeText } from './field-validators';

class Probe {
  @IsMarketSlug() market: unknown;
  @IsDivisionCode() province: unknown;
  @IsDivisionCode({ each: true }) provinces: unknown;
  @IsInstant() at: unknown;
  @IsSafeText() name: unknown;
  @IsSafeText({ multiline: true }) notes: unknown;
}

const VALID = {
  market: 'nvidia-h100-80gb',
  province: '520000',
  provinces: ['520000', '150000'],
  at: '2027-03-01T08:00:00Z',
  name: 'Gui’an hall 2 — 贵安',
  notes: 'row 3\n\tliquid cooled\r\n',
};

function failures(overrides: Partial<Record<keyof typeof VALID, unknown>>): string[] {
  const probe = Object.assign(new Probe(), VALID, overrides);
  return validateSync(probe).map((error) => error.property);
}

describe('field validators', () => {
  it('accept well-formed values', () => {
    expect(failures({})).toEqual([]);
    expect(failures({ at: '2027-03-01T08:00:00.123+08:00', market: 'a', provinces: [] })).toEqual([]);
    expect(failures({ at: '2028-02-29T23:59Z' })).toEqual([]);
  });

  it.each([
    ['market', 'NVIDIA-H100'],
    ['market', '-h100'],
    ['market', 'h100-'],
    ['market', 'x'.repeat(65)],
    ['market', 'h100\u0000'],
    ['market', 7],
    ['province', '52000'],
    ['province', '５２００００'],
    ['province', 520000],
    ['provinces', ['520000', 'guizhou']],
    ['at', '2027-03-01T08:00:00'],
    ['at', '2027-03-01'],
    ['at', '2027-02-29T08:00:00Z'],
    ['at', '2027-03-01 08:00:00Z'],
    ['at', '+275760-09-13T00:00:00Z'],
    ['at', 1_800_000_000_000],
    ['name', 'hall\u0000'],
    ['name', 'hall\n2'],
    ['name', 'hall\u007f'],
    ['name', 'lone \ud800 surrogate'],
    ['name', 'lone \udc00 low surrogate'],
    ['notes', 'bell\u0007'],
    ['notes', 'lone \udbff'],
  ] as const)('refuse %s = %j', (field, value) => {
    expect(failures({ [field]: value })).toEqual([field]);
  });

  it('keep paired surrogates (emoji) in text', () => {
    expect(failures({ name: 'hall 🚀', notes: '🚀\n' })).toEqual([]);
  });
});
