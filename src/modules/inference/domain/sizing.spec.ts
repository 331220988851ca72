import { effectiveFigures, sizeDemand, type SizingProfile } from './sizing';

// docs/INFERENCE.md, "Sizing": example 1's reference and a provider's declaration beside it.
const reference = {
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
const profile: SizingProfile = { declared, reference, gpusPerReplica: 4 };

describe('effectiveFigures', () => {
  it('takes the lower throughput and the higher TTFT of declaration and reference', () => {
    expect(effectiveFigures(profile)).toEqual({
      promptTokensPerSecondPerGpu: 2804.6,
      outputTokensPerSecondPerGpu: 380,
      ttftP50Ms: 150,
      ttftP95Ms: 260,
    });
  });

  it('the reference alone without a declaration; nothing without a reference', () => {
    expect(effectiveFigures({ reference, gpusPerReplica: 4 })).toEqual(reference);
    expect(effectiveFigures({ declared, reference: null, gpusPerReplica: 4 })).toBeNull();
  });

  it('delivery example 1: a confirmed multiple of 1.1 raises the trusted prompt figure to 1.1 x the reference, TTFT unchanged', () => {
    // 2,804.6 x 1.1 = 3,085.06 < 3,500 declared; output stays at the lower 380 (declared).
    const figures = effectiveFigures({ ...profile, confirmedScale: 1.1 });
    expect(figures?.promptTokensPerSecondPerGpu).toBeCloseTo(3085.06, 6);
    expect(figures).toMatchObject({ outputTokensPerSecondPerGpu: 380, ttftP50Ms: 150, ttftP95Ms: 260 });
  });

  it('delivery example 2: a multiple beyond the declaration is capped by it; a multiple below 1 counts as 1', () => {
    expect(effectiveFigures({ ...profile, confirmedScale: 2 })).toEqual({
      ...declared,
      ttftP50Ms: 150,
      ttftP95Ms: 260,
    });
    expect(effectiveFigures({ ...profile, confirmedScale: 0.5 })).toEqual(effectiveFigures(profile));
  });
});

describe('sizeDemand', () => {
  it('sizing example 1: 2,000 output tokens/s at 4:1 under 300 ms needs 9 GPUs, rounded to 3 replicas of 4', () => {
    // 8,000 / 2804.6 = 2.8525 and 2,000 / 380 = 5.2632 GPU-seconds per second: 8.1157 -> 9 -> 12.
    const sized = sizeDemand(
      { outputTokensPerSecond: 2000, promptToOutputRatio: 4, ttftP95Ms: 300 },
      profile,
    );
    expect(sized).toMatchObject({ feasible: true, gpus: 12, replicas: 3, promptTokensPerSecond: 8000 });
    if (!sized.feasible) throw new Error('feasible');
    expect(sized.utilisation).toBeCloseTo(8.1157 / 12, 4);
  });

  it('delivery example 3: sizing example 1 on a confirmed multiple of 1.1 needs 8 GPUs, not 12', () => {
    // 8,000 / 3,085.06 = 2.5931 and 2,000 / 380 = 5.2632: 7.8563 GPU-seconds per second -> 8 = 2 replicas.
    expect(
      sizeDemand(
        { outputTokensPerSecond: 2000, promptToOutputRatio: 4, ttftP95Ms: 300 },
        { ...profile, confirmedScale: 1.1 },
      ),
    ).toMatchObject({ feasible: true, gpus: 8, replicas: 2 });
  });

  it('sizing example 2: prompt tokens/s given directly is the same demand', () => {
    expect(
      sizeDemand({ outputTokensPerSecond: 2000, promptTokensPerSecond: 8000, ttftP95Ms: 300 }, profile),
    ).toMatchObject({ feasible: true, gpus: 12, replicas: 3 });
  });

  it('sizing example 3: a TTFT p95 SLO below the effective 260 ms cannot be met, whatever the GPUs', () => {
    expect(sizeDemand({ outputTokensPerSecond: 10, ttftP95Ms: 250 }, profile)).toEqual({
      feasible: false,
      reason: 'TTFT_SLO_NOT_MET',
      figures: effectiveFigures(profile),
    });
    expect(sizeDemand({ outputTokensPerSecond: 10, ttftP95Ms: 260 }, profile)).toMatchObject({
      feasible: true,
    });
  });

  it('sizing example 4: exactly 2 GPU-seconds is 2 GPUs, one more token/s is 3, each rounded to a replica of 4', () => {
    const single = { ...profile, gpusPerReplica: 1 };
    expect(sizeDemand({ outputTokensPerSecond: 760, ttftP95Ms: 300 }, single)).toMatchObject({ gpus: 2 });
    expect(sizeDemand({ outputTokensPerSecond: 761, ttftP95Ms: 300 }, single)).toMatchObject({ gpus: 3 });
    expect(sizeDemand({ outputTokensPerSecond: 760, ttftP95Ms: 300 }, profile)).toMatchObject({
      gpus: 4,
      replicas: 1,
    });
  });

  it('float error does not buy a GPU: 0.1 + 0.2 tokens/s at 0.1 per GPU is 3 GPUs, not 4', () => {
    const tiny = {
      declared: { ...declared, outputTokensPerSecondPerGpu: 0.1 },
      reference: { ...reference, outputTokensPerSecondPerGpu: 0.1 },
      gpusPerReplica: 1,
    };
    expect(sizeDemand({ outputTokensPerSecond: 0.1 + 0.2, ttftP95Ms: 300 }, tiny)).toMatchObject({ gpus: 3 });
  });

  it('any demand takes at least one replica', () => {
    expect(sizeDemand({ outputTokensPerSecond: 0.001, ttftP95Ms: 300 }, profile)).toMatchObject({
      gpus: 4,
      replicas: 1,
    });
  });

  it('no usable figures: the model does not fit the market', () => {
    expect(
      sizeDemand(
        { outputTokensPerSecond: 10, ttftP95Ms: 300 },
        { declared, reference: null, gpusPerReplica: 1 },
      ),
    ).toEqual({ feasible: false, reason: 'NO_USABLE_FIGURES', figures: null });
  });
});
