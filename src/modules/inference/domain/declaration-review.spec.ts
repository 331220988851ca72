import { flagDeclaration, isUsableForSizing, reviewStateFor, sameDeclaration } from './declaration-review';
import type { ReferenceProfile } from './reference-profile';

// The reference of docs/INFERENCE.md example 1 (Llama 3.3 70B BF16, H100, 8 per GPU).
const reference: ReferenceProfile = {
  concurrency: 8,
  gpusPerReplica: 4,
  promptTokensPerSecondPerGpu: 2804.6,
  outputTokensPerSecondPerGpu: 419.8,
  ttftP50Ms: 111,
  ttftP95Ms: 202,
};
const declared = {
  promptTokensPerSecondPerGpu: 3500,
  outputTokensPerSecondPerGpu: 380,
  ttftP50Ms: 150,
  ttftP95Ms: 260,
};

describe('flagDeclaration', () => {
  it('within the band: no flag, usable as declared', () => {
    expect(flagDeclaration(declared, reference)).toEqual([]);
    expect(reviewStateFor([])).toBe('NOT_FLAGGED');
  });

  it('the band edge: exactly 1.5x the throughput is not flagged, a tenth of a token more is', () => {
    // 1.5 x 419.8 = 629.7; 1.5 x 2804.6 = 4206.9.
    expect(flagDeclaration({ ...declared, outputTokensPerSecondPerGpu: 629.7 }, reference)).toEqual([]);
    expect(flagDeclaration({ ...declared, outputTokensPerSecondPerGpu: 629.8 }, reference)).toEqual([
      'OUTPUT_THROUGHPUT_ABOVE_REFERENCE',
    ]);
    expect(flagDeclaration({ ...declared, promptTokensPerSecondPerGpu: 4207 }, reference)).toEqual([
      'PROMPT_THROUGHPUT_ABOVE_REFERENCE',
    ]);
  });

  it('a TTFT below the reference over 1.5 is flagged: 111 / 1.5 = 74 ms, 202 / 1.5 = 134.67 ms', () => {
    expect(flagDeclaration({ ...declared, ttftP50Ms: 74, ttftP95Ms: 135 }, reference)).toEqual([]);
    expect(flagDeclaration({ ...declared, ttftP50Ms: 73, ttftP95Ms: 134 }, reference)).toEqual([
      'TTFT_P50_BELOW_REFERENCE',
      'TTFT_P95_BELOW_REFERENCE',
    ]);
  });

  it('every figure out of band raises its flag, in a fixed order, and waits for review', () => {
    const flags = flagDeclaration(
      { promptTokensPerSecondPerGpu: 9000, outputTokensPerSecondPerGpu: 2000, ttftP50Ms: 10, ttftP95Ms: 20 },
      reference,
    );
    expect(flags).toEqual([
      'PROMPT_THROUGHPUT_ABOVE_REFERENCE',
      'OUTPUT_THROUGHPUT_ABOVE_REFERENCE',
      'TTFT_P50_BELOW_REFERENCE',
      'TTFT_P95_BELOW_REFERENCE',
    ]);
    expect(reviewStateFor(flags)).toBe('PENDING_REVIEW');
  });

  it('no reference: a model that does not fit, or a market without a GPU spec, is always flagged', () => {
    expect(flagDeclaration(declared, null)).toEqual(['MODEL_DOES_NOT_FIT']);
    expect(flagDeclaration(declared, undefined)).toEqual(['NO_GPU_SPEC']);
  });

  it('sizing uses unflagged and accepted profiles only', () => {
    expect(isUsableForSizing('NOT_FLAGGED')).toBe(true);
    expect(isUsableForSizing('ACCEPTED')).toBe(true);
    expect(isUsableForSizing('PENDING_REVIEW')).toBe(false);
    expect(isUsableForSizing('REJECTED')).toBe(false);
  });

  it('a restated declaration is the same one; any changed figure is not', () => {
    const a = { ...declared, concurrency: 8 };
    expect(sameDeclaration(a, { ...a })).toBe(true);
    expect(sameDeclaration(a, { ...a, concurrency: 16 })).toBe(false);
    expect(sameDeclaration(a, { ...a, ttftP95Ms: 261 })).toBe(false);
  });
});
