import { Injectable } from '@nestjs/common';
import { DomainError } from '@/shared/domain-error';
import { Tx } from '@/infra/prisma/tx';

/**
 * The currencies markets trade in, with their decimal places. Cached for the process: a
 * currency's scale never changes, and a new one (a new market) is read on first use.
 */
@Injectable()
export class Currencies {
  private scales = new Map<string, number>();

  constructor(private readonly txHost: Tx) {}

  /** The scale of each currency the rows are in, as a lookup (every row's currency is traded). */
  async scalesOf(rows: ReadonlyArray<{ currency: string }>): Promise<(currency: string) => number> {
    const scales = new Map<string, number>();
    for (const { currency } of rows)
      if (!scales.has(currency)) scales.set(currency, await this.scaleOf(currency));
    return (currency) => scales.get(currency) ?? 0;
  }

  /** The scale of a traded currency; 400 for any other code. */
  async scaleOf(currency: string, field = 'currency'): Promise<number> {
    let scale = this.scales.get(currency);
    if (scale === undefined) {
      const rows = await this.txHost.tx.market.findMany({
        distinct: ['currency'],
        select: { currency: true, currencyScale: true },
      });
      this.scales = new Map(rows.map((row) => [row.currency, row.currencyScale]));
      scale = this.scales.get(currency);
    }
    if (scale === undefined) {
      throw new DomainError('VALIDATION_FAILED', `${field} must be a currency some market trades in.`, {
        field,
      });
    }
    return scale;
  }
}
