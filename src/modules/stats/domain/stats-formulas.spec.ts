import { IdleSchedule } from '@/modules/markets/domain/idle-schedule';
import {
  freeGpusNow,
  summariseDemand,
  summariseSupply,
  summariseTrades,
  type DemandBucket,
  type TradeBucket,
} from './stats-formulas';
import { floorHour, windowRange } from './stats-windows';

const at = (iso: string): Date => new Date(iso);

const demand = (over: Partial<DemandBucket> = {}): DemandBucket => ({
  closedBids: 0,
  closedBidGpuHours: 0n,
  closedFilledGpuHours: 0n,
  unmetExpiredGpuHours: 0n,
  unmetCancelledGpuHours: 0n,
  firstFills: 0,
  firstFillWaitSeconds: 0n,
  fullFills: 0,
  fullFillWaitSeconds: 0n,
  ...over,
});

const candle = (hour: number, over: Partial<TradeBucket> = {}): TradeBucket => ({
  bucketStart: new Date(Date.UTC(2030, 0, 7, hour)),
  trades: 0,
  tradedGpuHours: 0n,
  tradeProviders: 0,
  priceOpen: null,
  priceHigh: null,
  priceLow: null,
  priceClose: null,
  notionalMinor: 0n,
  ...over,
});

describe('stats windows', () => {
  it('floors to the clock hour and covers only complete hours', () => {
    expect(floorHour(at('2030-01-07T05:59:59.999Z'))).toEqual(at('2030-01-07T05:00:00Z'));
    expect(windowRange('hour', at('2030-01-07T05:20:00Z'))).toEqual({
      from: at('2030-01-07T04:00:00Z'),
      to: at('2030-01-07T05:00:00Z'),
      hours: 1,
    });
    expect(windowRange('day', at('2030-01-07T05:00:00Z')).from).toEqual(at('2030-01-06T05:00:00Z'));
    expect(windowRange('week', at('2030-01-07T05:00:00Z')).hours).toBe(168);
  });
});

describe('stats formulas', () => {
  it('utilisation is leased over offered GPU-hours; idle the rest', () => {
    // 4 GPUs x 1 h + 2 GPUs x 0.5 h offered = 5 GPU-h; 2 GPUs x 0.75 h leased = 1.5 GPU-h.
    const s = summariseSupply([
      { offeredGpuSeconds: 14_400n, leasedGpuSeconds: 5_400n },
      { offeredGpuSeconds: 3_600n, leasedGpuSeconds: 0n },
    ]);
    expect(s).toEqual({ offeredGpuHours: 5, leasedGpuHours: 1.5, idleGpuHours: 3.5, utilisation: 0.3 });
    expect(summariseSupply([]).utilisation).toBeNull();
  });

  it('fill rate by GPU-hours, unmet demand split, mean waits', () => {
    const d = summariseDemand([
      demand({ closedBids: 2, closedBidGpuHours: 12n, closedFilledGpuHours: 8n, unmetExpiredGpuHours: 4n }),
      demand({
        closedBids: 1,
        closedBidGpuHours: 3n,
        unmetCancelledGpuHours: 3n,
        firstFills: 2,
        firstFillWaitSeconds: 900n,
        fullFills: 1,
        fullFillWaitSeconds: 600n,
      }),
    ]);
    expect(d).toMatchObject({
      closedBids: 3,
      closedBidGpuHours: 15,
      filledGpuHours: 8,
      fillRate: 0.5333,
      unmetGpuHours: 7,
      unmetExpiredGpuHours: 4,
      unmetCancelledGpuHours: 3,
      meanSecondsToFirstFill: 450,
      meanSecondsToFullFill: 600,
    });
    expect(summariseDemand([demand()])).toMatchObject({ fillRate: null, meanSecondsToFirstFill: null });
  });

  it('window OHLC from hourly candles, out of order, skipping quiet hours; VWAP floored', () => {
    const t = summariseTrades([
      candle(3, {
        trades: 1,
        tradedGpuHours: 1n,
        priceOpen: 900n,
        priceHigh: 900n,
        priceLow: 900n,
        priceClose: 900n,
        notionalMinor: 900n,
      }),
      candle(1, {
        trades: 2,
        tradedGpuHours: 2n,
        priceOpen: 1000n,
        priceHigh: 1200n,
        priceLow: 1000n,
        priceClose: 1200n,
        notionalMinor: 2200n,
      }),
      candle(2),
    ]);
    // (2200 + 900) / 3 = 1033.33 -> 1033.
    expect(t).toEqual({
      trades: 3,
      volumeGpuHours: 3,
      prices: { open: 1000n, high: 1200n, low: 900n, close: 900n, vwap: 1033n },
    });
    expect(summariseTrades([candle(1)])).toEqual({ trades: 0, volumeGpuHours: 0, prices: null });
  });
});

describe('freeGpusNow (docs/STATS.md)', () => {
  const nights = new IdleSchedule({
    timeZone: 'Asia/Shanghai',
    reclaimNoticeMinutes: 30,
    windows: [{ days: ['MON', 'TUE', 'WED', 'THU', 'FRI'], start: '20:00', end: '08:00' }],
  });
  const offers = [
    { freeGpus: 3, schedule: nights },
    { freeGpus: 2, schedule: null },
  ];

  it('counts an offer with idle windows only while one of its windows is open', () => {
    // 2026-12-01 is a Tuesday: 14:00Z is 22:00 in Shanghai, 04:00Z is noon.
    expect(freeGpusNow(4, offers, Date.parse('2026-12-01T14:00:00Z'))).toBe(9);
    expect(freeGpusNow(4, offers, Date.parse('2026-12-01T04:00:00Z'))).toBe(6);
    expect(freeGpusNow(0, [], Date.parse('2026-12-01T04:00:00Z'))).toBe(0);
  });
});
