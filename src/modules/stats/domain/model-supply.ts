import {
  MARKET_PROMPT_TO_OUTPUT_RATIO,
  tokenCapacity,
  tokensPerGpuHour,
  type TokenRates,
} from '@/modules/markets/domain/token-terms';

/** One live offer serving one model: its free GPUs, ask and the figures sizing trusts. */
export interface ServingOffer {
  organisationId: string;
  provinceCode: string;
  model: string;
  /** Ask per GPU-hour, minor units. */
  price: bigint;
  freeGpus: number;
  gpusPerReplica: number;
  rates: TokenRates;
}

export interface ModelSupply {
  /** Distinct providers with at least one whole replica free. */
  providers: number;
  /** Their offers. */
  offers: number;
  /** Free GPUs of those offers. */
  freeGpus: number;
  /** Of those, the GPUs in whole replicas: the ones that serve the model. */
  servingGpus: number;
  outputTokensPerSecond: number;
  promptTokensPerSecond: number;
  tokensPerSecond: number;
  /** The cheapest ask per GPU-hour, minor units. */
  lowestPricePerGpuHour: bigint;
  /** The cheapest price per million tokens of one offer, minor units, rounded up. */
  lowestPricePerMillionTokens: bigint;
  /**
   * All of it together: the serving GPUs' asks per hour over the tokens they serve in the hour,
   * per million, rounded up; what buying every replica would cost per million tokens.
   */
  meanPricePerMillionTokens: bigint;
}

export interface ModelSupplyByProvince extends ModelSupply {
  provinceCode: string;
}

export interface ModelSupplySummary extends ModelSupply {
  model: string;
  provinces: ModelSupplyByProvince[];
}

interface Tally {
  providers: Set<string>;
  offers: number;
  freeGpus: number;
  servingGpus: number;
  outputTokensPerSecond: number;
  promptTokensPerSecond: number;
  lowestPricePerGpuHour: bigint;
  lowestPricePerMillionTokens: bigint;
  /** Σ ask x serving GPUs: minor units per hour. */
  costPerHour: bigint;
  /** Σ tokens per GPU-hour x serving GPUs. */
  tokensPerHour: bigint;
}

const MILLION = 1_000_000n;

const ceilDiv = (a: bigint, b: bigint): bigint => (a + b - 1n) / b;

/**
 * Live supply of a market in inference terms (docs/STATS.md "Supply by model"), per model and per
 * province: tokens/s the free GPUs sustain in whole replicas at the reference mix, and prices per
 * million tokens beside the asks per GPU-hour. An offer whose free GPUs hold no whole replica
 * serves the model nothing and is left out; so is a profile that serves no tokens.
 */
export function summariseModelSupply(
  offers: readonly ServingOffer[],
  ratio: number = MARKET_PROMPT_TO_OUTPUT_RATIO,
): ModelSupplySummary[] {
  const byModel = new Map<string, { total: Tally; provinces: Map<string, Tally> }>();
  for (const offer of offers) {
    const capacity = tokenCapacity(offer.freeGpus, offer.gpusPerReplica, offer.rates, ratio);
    const perGpuHour = tokensPerGpuHour(offer.rates, ratio);
    if (capacity.gpus === 0 || perGpuHour <= 0n) continue;
    const entry = byModel.get(offer.model) ?? { total: newTally(), provinces: new Map<string, Tally>() };
    byModel.set(offer.model, entry);
    const province = entry.provinces.get(offer.provinceCode) ?? newTally();
    entry.provinces.set(offer.provinceCode, province);
    const perMillion = ceilDiv(offer.price * MILLION, perGpuHour);
    for (const tally of [entry.total, province]) {
      tally.providers.add(offer.organisationId);
      tally.offers += 1;
      tally.freeGpus += offer.freeGpus;
      tally.servingGpus += capacity.gpus;
      tally.outputTokensPerSecond += capacity.outputTokensPerSecond;
      tally.promptTokensPerSecond += capacity.promptTokensPerSecond;
      if (tally.offers === 1 || offer.price < tally.lowestPricePerGpuHour)
        tally.lowestPricePerGpuHour = offer.price;
      if (tally.offers === 1 || perMillion < tally.lowestPricePerMillionTokens) {
        tally.lowestPricePerMillionTokens = perMillion;
      }
      tally.costPerHour += offer.price * BigInt(capacity.gpus);
      tally.tokensPerHour += perGpuHour * BigInt(capacity.gpus);
    }
  }
  return [...byModel.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([model, { total, provinces }]) => ({
      model,
      ...supplyOf(total),
      provinces: [...provinces.entries()]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([provinceCode, tally]) => ({ provinceCode, ...supplyOf(tally) })),
    }));
}

function newTally(): Tally {
  return {
    providers: new Set(),
    offers: 0,
    freeGpus: 0,
    servingGpus: 0,
    outputTokensPerSecond: 0,
    promptTokensPerSecond: 0,
    lowestPricePerGpuHour: 0n,
    lowestPricePerMillionTokens: 0n,
    costPerHour: 0n,
    tokensPerHour: 0n,
  };
}

function supplyOf(t: Tally): ModelSupply {
  return {
    providers: t.providers.size,
    offers: t.offers,
    freeGpus: t.freeGpus,
    servingGpus: t.servingGpus,
    outputTokensPerSecond: t.outputTokensPerSecond,
    promptTokensPerSecond: t.promptTokensPerSecond,
    tokensPerSecond: t.outputTokensPerSecond + t.promptTokensPerSecond,
    lowestPricePerGpuHour: t.lowestPricePerGpuHour,
    lowestPricePerMillionTokens: t.lowestPricePerMillionTokens,
    meanPricePerMillionTokens: ceilDiv(t.costPerHour * MILLION, t.tokensPerHour),
  };
}
