import { summariseModelSupply, type ServingOffer } from './model-supply';

const QWEN = { promptTokensPerSecondPerGpu: 8000, outputTokensPerSecondPerGpu: 500 }; // 7,200,000 tokens/GPU-h
const LLAMA = { promptTokensPerSecondPerGpu: 800, outputTokensPerSecondPerGpu: 200 }; // 1,800,000 tokens/GPU-h

const offer = (o: Partial<ServingOffer>): ServingOffer => ({
  organisationId: 'P1',
  provinceCode: '520000',
  model: 'qwen2.5-7b-instruct',
  price: 1500n,
  freeGpus: 10,
  gpusPerReplica: 1,
  rates: QWEN,
  ...o,
});

// docs/STATS.md "Supply by model", the worked example (also the e2e fixture's figures).
describe('live supply by model', () => {
  const offers: ServingOffer[] = [
    offer({ price: 1500n, freeGpus: 10 }),
    offer({ price: 1250n, freeGpus: 8 }),
    offer({ provinceCode: '150000', price: 1500n, freeGpus: 2, organisationId: 'P2' }),
    offer({ model: 'llama-3.3-70b-instruct', gpusPerReplica: 4, rates: LLAMA, freeGpus: 10 }),
    // 2 free GPUs hold no replica of 4: left out.
    offer({ model: 'llama-3.3-70b-instruct', gpusPerReplica: 4, rates: LLAMA, freeGpus: 2 }),
  ];

  it('sums tokens/s in whole replicas and prices per million tokens, by model then province', () => {
    expect(summariseModelSupply(offers)).toEqual([
      {
        model: 'llama-3.3-70b-instruct',
        providers: 1,
        offers: 1,
        freeGpus: 10,
        servingGpus: 8,
        outputTokensPerSecond: 800,
        promptTokensPerSecond: 3200,
        tokensPerSecond: 4000,
        lowestPricePerGpuHour: 1500n,
        // 15.00 x 1,000,000 / 1,800,000 = 8.333 -> 8.34
        lowestPricePerMillionTokens: 834n,
        meanPricePerMillionTokens: 834n,
        provinces: [
          expect.objectContaining({
            provinceCode: '520000',
            servingGpus: 8,
            tokensPerSecond: 4000,
          }) as unknown,
        ],
      },
      {
        model: 'qwen2.5-7b-instruct',
        providers: 2,
        offers: 3,
        freeGpus: 20,
        servingGpus: 20,
        outputTokensPerSecond: 8000,
        promptTokensPerSecond: 32000,
        tokensPerSecond: 40000,
        lowestPricePerGpuHour: 1250n,
        // 12.50 / 7.2 = 1.736 -> 1.74
        lowestPricePerMillionTokens: 174n,
        // (10 x 15.00 + 8 x 12.50 + 2 x 15.00) per hour over 20 x 7.2 M tokens = 1.944 -> 1.95
        meanPricePerMillionTokens: 195n,
        provinces: [
          {
            provinceCode: '150000',
            providers: 1,
            offers: 1,
            freeGpus: 2,
            servingGpus: 2,
            outputTokensPerSecond: 800,
            promptTokensPerSecond: 3200,
            tokensPerSecond: 4000,
            lowestPricePerGpuHour: 1500n,
            lowestPricePerMillionTokens: 209n,
            meanPricePerMillionTokens: 209n,
          },
          {
            provinceCode: '520000',
            providers: 1,
            offers: 2,
            freeGpus: 18,
            servingGpus: 18,
            outputTokensPerSecond: 7200,
            promptTokensPerSecond: 28800,
            tokensPerSecond: 36000,
            lowestPricePerGpuHour: 1250n,
            lowestPricePerMillionTokens: 174n,
            // (150.00 + 100.00) per hour over 18 x 7.2 M tokens = 1.929 -> 1.93
            meanPricePerMillionTokens: 193n,
          },
        ],
      },
    ]);
  });

  it('leaves out profiles that serve nothing and is empty without supply', () => {
    expect(summariseModelSupply([])).toEqual([]);
    expect(
      summariseModelSupply([
        offer({ rates: { promptTokensPerSecondPerGpu: 8000, outputTokensPerSecondPerGpu: 0 } }),
      ]),
    ).toEqual([]);
  });

  it('counts the free GPUs beside the replicas they hold', () => {
    const [llama] = summariseModelSupply([
      offer({ model: 'm', gpusPerReplica: 4, rates: LLAMA, freeGpus: 7 }),
      offer({ model: 'm', gpusPerReplica: 4, rates: LLAMA, freeGpus: 5, price: 1000n }),
    ]);
    expect(llama).toMatchObject({ offers: 2, freeGpus: 12, servingGpus: 8, lowestPricePerGpuHour: 1000n });
  });
});
