import { ApiProperty } from '@nestjs/swagger';
import { BILLING_MODES } from './place-bid.dto';
import { ORDER_STATUSES } from './list-bids.dto';
import { InferenceBidTermsResponse } from './inference-bid.dto';

export class BidResponse {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'nvidia-h100-80gb' }) market!: string;
  @ApiProperty({ example: 'CNY' }) currency!: string;
  @ApiProperty({ example: 8 }) gpus!: number;
  @ApiProperty({ example: 0, description: 'GPUs already leased to this bid' }) filledGpus!: number;
  @ApiProperty({ example: 8, description: 'gpus - filledGpus' }) remainingGpus!: number;
  @ApiProperty({ example: '18.20', description: 'Price cap per GPU-hour, decimal string' })
  maxPricePerGpuHour!: string;
  @ApiProperty({ example: 24 }) durationHours!: number;
  @ApiProperty({
    type: [String],
    example: ['520000'],
    description: 'Allowed provinces; empty means anywhere',
  })
  provinces!: string[];
  @ApiProperty({ example: 1 }) minGpusPerSite!: number;
  @ApiProperty() partialAllowed!: boolean;
  @ApiProperty({
    nullable: true,
    type: Number,
    example: 85,
    description: 'The lowest provider reliability score the bid trades with; null: any',
  })
  minProviderScore!: number | null;
  @ApiProperty({
    description:
      'Accepts being reclaimed at an idle-window offer’s notice, so may run past the window (docs/LEASES.md)',
  })
  interruptible!: boolean;
  @ApiProperty({ enum: BILLING_MODES }) billingMode!: string;
  @ApiProperty({ format: 'date-time' }) expiresAt!: string;
  @ApiProperty({
    enum: ORDER_STATUSES,
    description: 'OPEN -> PARTIALLY_FILLED -> FILLED | CANCELLED | EXPIRED (terminal)',
  })
  status!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) cancelledAt!: string | null;
  @ApiProperty({
    type: InferenceBidTermsResponse,
    nullable: true,
    description:
      "An inference bid's own terms, null on a GPU bid; its gpus and maxPricePerGpuHour are what the exchange sized it into",
  })
  inference!: InferenceBidTermsResponse | null;
  @ApiProperty({
    format: 'uuid',
    nullable: true,
    type: String,
    description: 'Its automatic re-placement plan (GET /v1/bids/{id}/auto-replace); null: none',
  })
  autoReplacePlanId!: string | null;
  @ApiProperty({
    format: 'uuid',
    nullable: true,
    type: String,
    description: 'A re-placement: the lease whose end placed it; null for a bid you placed',
  })
  replacesLeaseId!: string | null;
}

export class BidPageResponse {
  @ApiProperty({ type: [BidResponse] }) data!: BidResponse[];
  @ApiProperty({ nullable: true, type: String, description: 'Null on the last page' }) nextCursor!:
    string | null;
}
