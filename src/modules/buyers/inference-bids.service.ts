import { Injectable } from '@nestjs/common';
import { Clock } from '@/infra/clock/clock';
import type { OrganisationContext } from '@/infra/auth/principal';
import { DomainError } from '@/shared/domain-error';
import { formatMoney, MAX_GPUS_PER_ORDER, MAX_PRICE_PER_GPU_HOUR_MINOR, parseMoney } from '@/shared/money';
import type { BookOffer } from '@/modules/matching/domain/book';
import { OrderBookService } from '@/modules/matching/order-book.service';
import { MarketsService, type CatalogueMarket } from '@/modules/markets/markets.service';
import {
  InferenceCatalogueService,
  type InferenceModelRef,
} from '@/modules/inference/inference-catalogue.service';
import { TAKE_OR_PAY_PERCENT } from '@/modules/inference/domain/inference-pricing';
import { assertInferenceShape, MAX_PRICE_PER_MILLION_TOKENS_MINOR } from './domain/inference-bid-rules';
import {
  promptFromRatio,
  sizeInferenceBid,
  type InferenceAsk,
  type InferenceFrame,
  type InferenceSizing,
} from './domain/inference-sizing';
import type { InferenceAlternativeResponse } from './dto/inference-bid.dto';
import type { QuoteBidDto } from './dto/quote-bid.dto';

/** Alternatives a refusal lists at most. */
const MAX_ALTERNATIVES = 5;

/** An inference bid sized in the market it trades in. */
export interface SizedInferenceBid {
  market: CatalogueMarket;
  model: InferenceModelRef;
  ask: InferenceAsk;
  sizing: Extract<InferenceSizing, { kind: 'sized' }>;
  /** Every market tried, best first, for the quote. */
  ranking: Array<{ market: CatalogueMarket; sizing: Extract<InferenceSizing, { kind: 'sized' }> }>;
}

type Sized = Extract<InferenceSizing, { kind: 'sized' }>;

/**
 * Inference bids (docs/INFERENCE.md "Inference bids"): sizes demand in model terms into GPUs of
 * one market, against the live offers that serve the model, or refuses it (422) with the
 * nearest alternatives the book could fill. Reads only; placement and quotes call it.
 */
@Injectable()
export class InferenceBidsService {
  constructor(
    private readonly markets: MarketsService,
    private readonly catalogue: InferenceCatalogueService,
    private readonly book: OrderBookService,
    private readonly clock: Clock,
  ) {}

  /**
   * Sizes the bid in its named market, or in every active market when it names none, taking the
   * one ranked best: fills whole now first, then the lowest expected price per million tokens,
   * then the fewest GPUs. 422 `MODEL_NOT_SERVED` or `THROUGHPUT_UNREACHABLE` with alternatives.
   */
  async size(org: OrganisationContext, input: QuoteBidDto): Promise<SizedInferenceBid> {
    const terms = input.inference;
    if (terms === undefined) throw new Error('size() of a bid without inference terms');
    assertInferenceShape(terms, input);
    const now = this.clock.now();
    const model = await this.catalogue.findModelRef(terms.model);
    const markets =
      input.market === undefined
        ? await this.activeMarkets()
        : [await this.markets.findCatalogueMarket(input.market, 'market')];
    const provinces = [...(input.provinces ?? [])].sort();
    await this.markets.assertProvinceCodesKnown(provinces, 'provinces');
    const promptTokensPerSecond =
      terms.promptTokensPerSecond ??
      promptFromRatio(terms.outputTokensPerSecond, terms.promptToOutputRatio ?? 0);
    const frame: InferenceFrame = {
      organisationId: org.organisationId,
      durationHours: input.durationHours,
      provinces,
      minGpusPerSite: input.minGpusPerSite ?? 1,
      partialAllowed: input.partialAllowed,
      ...(input.minProviderScore === undefined ? {} : { minProviderScore: input.minProviderScore }),
      ...(input.interruptible === true ? { interruptible: true } : {}),
    };
    const offers = new Map<string, Promise<BookOffer[]>>();
    const offersOf = (market: CatalogueMarket): Promise<BookOffer[]> => {
      let loaded = offers.get(market.id);
      if (loaded === undefined) {
        loaded = this.book.inferenceOffers(market.id, now);
        offers.set(market.id, loaded);
      }
      return loaded;
    };
    const askIn = (
      market: CatalogueMarket,
      forModel: InferenceModelRef,
      output = terms.outputTokensPerSecond,
    ): InferenceAsk => ({
      modelId: forModel.id,
      outputTokensPerSecond: output,
      promptTokensPerSecond:
        output === terms.outputTokensPerSecond
          ? promptTokensPerSecond
          : Math.ceil((promptTokensPerSecond * output) / terms.outputTokensPerSecond),
      ttftP95Ms: terms.ttftP95Ms,
      maxPricePerMillionTokens: parseMoney(terms.maxPricePerMillionTokens, {
        field: 'inference.maxPricePerMillionTokens',
        scale: market.currencyScale,
        max: MAX_PRICE_PER_MILLION_TOKENS_MINOR,
      }),
      takeOrPayPercent: terms.takeOrPayPercent ?? TAKE_OR_PAY_PERCENT,
    });
    const sizeIn = async (
      market: CatalogueMarket,
      ask: InferenceAsk,
      bidFrame: InferenceFrame = frame,
    ): Promise<InferenceSizing> =>
      sizeInferenceBid(ask, bidFrame, await offersOf(market), now.getTime(), LIMITS);

    const tried: Array<{ market: CatalogueMarket; sizing: InferenceSizing }> = [];
    for (const market of markets) tried.push({ market, sizing: await sizeIn(market, askIn(market, model)) });
    const ranking = tried
      .filter((t): t is { market: CatalogueMarket; sizing: Sized } => t.sizing.kind === 'sized')
      .sort((a, b) => rank(a.sizing, b.sizing) || (a.market.slug < b.market.slug ? -1 : 1));
    const best = ranking[0];
    if (best !== undefined) {
      if (best.sizing.maxPricePerGpuHour <= 0n) {
        throw new DomainError(
          'VALIDATION_FAILED',
          `inference.maxPricePerMillionTokens implies less than the smallest price per GPU-hour on ${best.sizing.gpus} GPUs.`,
          { field: 'inference.maxPricePerMillionTokens' },
        );
      }
      return { market: best.market, model, ask: askIn(best.market, model), sizing: best.sizing, ranking };
    }

    // Refused: the nearest bids the book could fill, changing one thing at a time.
    const alternatives: InferenceAlternativeResponse[] = [];
    const consider = async (
      change: InferenceAlternativeResponse['change'],
      market: CatalogueMarket,
      forModel: InferenceModelRef,
      bidFrame: InferenceFrame,
      output?: number,
    ): Promise<boolean> => {
      const ask = askIn(market, forModel, output);
      const sizing = await sizeIn(market, ask, bidFrame);
      if (sizing.kind !== 'sized' || sizing.supply.fillableGpus === 0) return false;
      alternatives.push({
        change,
        model: forModel.slug,
        market: market.slug,
        provinces: [...bidFrame.provinces],
        outputTokensPerSecond: ask.outputTokensPerSecond,
        promptTokensPerSecond: ask.promptTokensPerSecond,
        gpus: sizing.gpus,
        fillableGpus: sizing.supply.fillableGpus,
        expectedPricePerMillionTokens:
          sizing.expectedPricePerMillionTokens === null
            ? null
            : formatMoney(sizing.expectedPricePerMillionTokens, market.currencyScale),
      });
      return true;
    };
    const notServed = tried.every((t) => t.sizing.kind === 'not-served');
    // A lower throughput in the markets tried: the most the supply sustains, by bisection.
    if (!notServed) {
      for (const { market } of tried) {
        let low = 0;
        let high = terms.outputTokensPerSecond - 1;
        while (low < high) {
          const mid = Math.ceil((low + high) / 2);
          const sizing = await sizeIn(market, askIn(market, model, mid));
          if (sizing.kind === 'sized' && sizing.supply.fillableGpus === sizing.gpus) low = mid;
          else high = mid - 1;
        }
        if (low > 0) await consider('THROUGHPUT', market, model, frame, low);
      }
    }
    if (provinces.length > 0) {
      for (const { market } of tried) await consider('REGION', market, model, { ...frame, provinces: [] });
    }
    if (input.market !== undefined) {
      for (const market of await this.activeMarkets()) {
        if (market.id !== markets[0]?.id) await consider('MARKET', market, model, frame);
      }
    }
    const models = (await this.catalogue.modelRefs()).filter((m) => m.id !== model.id);
    // Other sizes of the same family first, then any model.
    models.sort((a, b) => Number(b.family === model.family) - Number(a.family === model.family));
    for (const other of models) {
      if (alternatives.filter((a) => a.change === 'MODEL').length >= MAX_ALTERNATIVES) break;
      for (const { market } of tried) if (await consider('MODEL', market, other, frame)) break;
    }
    const details = { alternatives: alternatives.slice(0, MAX_ALTERNATIVES * 2) };
    if (notServed) {
      throw new DomainError(
        'MODEL_NOT_SERVED',
        `No live offer ${input.market === undefined ? 'in any market' : `in ${input.market}`}` +
          `${provinces.length > 0 ? ' in your provinces' : ''} serves ${model.slug} within a TTFT p95 of ${terms.ttftP95Ms} ms.`,
        details,
      );
    }
    throw new DomainError(
      'THROUGHPUT_UNREACHABLE',
      `The offers that serve ${model.slug} within your SLO cannot sustain ${terms.outputTokensPerSecond} output ` +
        `tokens/s${input.partialAllowed ? '' : ' all at once'} (at most ${MAX_GPUS_PER_ORDER} GPUs per bid).`,
      details,
    );
  }

  private async activeMarkets(): Promise<CatalogueMarket[]> {
    const { data } = await this.markets.listMarkets();
    const active = data.filter((market) => market.status === 'ACTIVE');
    return Promise.all(active.map((market) => this.markets.findCatalogueMarket(market.slug)));
  }
}

const LIMITS = { maxGpus: MAX_GPUS_PER_ORDER, maxPricePerGpuHour: MAX_PRICE_PER_GPU_HOUR_MINOR };

/** Market ranking: fills whole now, then cheaper per million tokens, then fewer GPUs. */
function rank(a: Sized, b: Sized): number {
  const whole = (s: Sized): number => (s.quote.fillableGpus === s.gpus ? 0 : 1);
  if (whole(a) !== whole(b)) return whole(a) - whole(b);
  const pa = a.expectedPricePerMillionTokens;
  const pb = b.expectedPricePerMillionTokens;
  if (pa !== pb) {
    if (pa === null) return 1;
    if (pb === null) return -1;
    return pa < pb ? -1 : 1;
  }
  return a.gpus - b.gpus;
}
