import { ApiProperty } from '@nestjs/swagger';
import { SloTermsResponse } from '@/modules/markets/dto/slo-terms.response';
import { IdleWindowsResponse, WindowTimesResponse } from '@/modules/markets/dto/idle-windows.response';
import { ORDER_STATUSES } from './list-offers.dto';

/** `nextWindowOpensAt` and `windowClosesAt` come from WindowTimesResponse, as on listings. */
export class OfferResponse extends WindowTimesResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'nvidia-h100-80gb' }) market!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ format: 'uuid' }) siteId!: string;
  @ApiProperty({ example: 16, description: 'GPUs offered' }) gpus!: number;
  @ApiProperty({ example: 4, description: 'GPUs held by non-ended leases' }) leasedGpus!: number;
  @ApiProperty({ example: 12, description: 'gpus - leasedGpus' }) freeGpus!: number;
  @ApiProperty({ example: '18.20', description: 'Ask per GPU-hour, decimal string' })
  pricePerGpuHour!: string;
  @ApiProperty({ format: 'date-time' }) availableFrom!: string;
  @ApiProperty({ format: 'date-time' }) availableUntil!: string;
  @ApiProperty({ example: 1 }) minLeaseHours!: number;
  @ApiProperty({
    example: 30,
    description:
      'Pay-per-use minimum: share of reserved GPU-seconds paid however few are used. Per-token inference bids ' +
      'take the offer only when their takeOrPayPercent is at least this (docs/MATCHING.md rule 4, TAKE_OR_PAY)',
  })
  payPerUseMinPercent!: number;
  @ApiProperty({
    example: 24,
    description: 'Notice owed before ending an ACTIVE lease early, else a penalty (docs/LEASES.md)',
  })
  terminationNoticeHours!: number;
  @ApiProperty({
    type: IdleWindowsResponse,
    nullable: true,
    description: 'Recurring idle windows and their reclaim notice; null: the whole availability window',
  })
  idleWindows!: IdleWindowsResponse | null;
  @ApiProperty({
    type: SloTermsResponse,
    nullable: true,
    description:
      'The service level promised per billing period, copied onto each lease at match (docs/SLO.md)',
  })
  slo!: SloTermsResponse | null;
  @ApiProperty({
    enum: ORDER_STATUSES,
    description:
      'OPEN / PARTIALLY_FILLED / FILLED follow free capacity both ways; CANCELLED and EXPIRED are terminal',
  })
  status!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) cancelledAt!: string | null;
}

export class OfferPageResponse {
  @ApiProperty({ type: [OfferResponse] }) data!: OfferResponse[];
  @ApiProperty({ nullable: true, type: String, description: 'Null on the last page' }) nextCursor!:
    string | null;
}
