import { ApiProperty } from '@nestjs/swagger';
import type { Slo } from '../domain/order-terms';

/** An SLO's terms as listings, offers and leases show them (docs/SLO.md); one shape for all. */
export class SloTermsResponse {
  @ApiProperty({ example: 99.5, description: 'Availability promised per billing period, percent' })
  availabilityPercent!: number;
  @ApiProperty({
    nullable: true,
    type: Number,
    example: 500,
    description:
      'TTFT p95 at most, ms; binds leases of inference bids only, so a lease of a plain GPU bid shows null',
  })
  ttftP95Ms!: number | null;
  @ApiProperty({
    nullable: true,
    type: Number,
    example: 250,
    description:
      'Output tokens/s per GPU at least; binds leases of inference bids only, so a lease of a plain GPU bid shows null',
  })
  outputTokensPerSecondPerGpu!: number | null;
  @ApiProperty({
    example: 10,
    description: "Share of a missed period's charge credited to the buyer, percent",
  })
  creditPercent!: number;

  /** The stored terms (basis points, absent objectives) as the API shows them; null when none. */
  static of(slo: Slo | null): SloTermsResponse | null {
    if (slo === null) return null;
    return {
      availabilityPercent: slo.availabilityBps / 100,
      ttftP95Ms: slo.ttftP95Ms ?? null,
      outputTokensPerSecondPerGpu: slo.outputTokensPerSecondPerGpu ?? null,
      creditPercent: slo.creditPercent,
    };
  }
}
