import { ApiProperty } from '@nestjs/swagger';

export class HandoverComponentResponse {
  @ApiProperty({
    example: 41,
    description: 'Leases whose access was handed over by the provisioning deadline',
  })
  onTime!: number;
  @ApiProperty({ example: 1, description: 'Handed over after the deadline' })
  late!: number;
  @ApiProperty({ example: 2, description: 'Deadline passed with no handover (the lease failed)' })
  missed!: number;
  @ApiProperty({
    example: 0.932,
    nullable: true,
    type: Number,
    description: 'onTime / all handovers; null when none',
  })
  onTimeShare!: number | null;
}

export class DeliveryComponentResponse {
  @ApiProperty({
    example: 38,
    description:
      'Started leases that ran to their end, that the buyer ended, or that the provider reclaimed on idle windows (RECLAIMED)',
  })
  delivered!: number;
  @ApiProperty({
    example: 1,
    description: "Started leases the provider ended at the offer's notice (half a fault)",
  })
  endedWithNoticeByProvider!: number;
  @ApiProperty({
    example: 1,
    description: 'Started leases the provider ended at once (penalty) or as failed',
  })
  endedEarlyByProvider!: number;
  @ApiProperty({
    example: 0.974,
    nullable: true,
    type: Number,
    description: 'delivered / finished; null when none',
  })
  deliveredShare!: number | null;
}

export class SloComponentResponse {
  @ApiProperty({
    example: 310,
    description: 'Settled periods of leases with an SLO that met it (docs/SLO.md)',
  })
  met!: number;
  @ApiProperty({ example: 4, description: 'Settled periods that missed it (the buyer was credited)' })
  missed!: number;
  @ApiProperty({
    example: 0.987,
    nullable: true,
    type: Number,
    description: 'met / assessed periods; null when none',
  })
  metShare!: number | null;
}

export class DisputesComponentResponse {
  @ApiProperty({
    example: 1,
    description:
      "Disputes decided against the provider: SLO disputes decided MISSED, usage disputes whose decided counts differ from the provider's",
  })
  lost!: number;
}

export class ReliabilityComponentsResponse {
  @ApiProperty({ type: HandoverComponentResponse }) handover!: HandoverComponentResponse;
  @ApiProperty({ type: DeliveryComponentResponse }) delivery!: DeliveryComponentResponse;
  @ApiProperty({ type: SloComponentResponse }) slo!: SloComponentResponse;
  @ApiProperty({ type: DisputesComponentResponse }) disputes!: DisputesComponentResponse;
}

export class ReliabilityResponse {
  @ApiProperty({
    example: 91.4,
    description:
      '0-100, one decimal: 100 x (4 + good) / (5 + good + bad) over lease outcomes of the last 365 days, ' +
      'each weighted 0.5^(age / 90 days). A provider with no outcomes scores 80 (docs/RELIABILITY.md)',
  })
  score!: number;
  @ApiProperty({ example: false, description: 'Less than 3 outcomes of decayed evidence: mostly the prior' })
  isNew!: boolean;
  @ApiProperty({ example: 52.31, description: 'Decayed weight of the outcomes behind the score' })
  evidence!: number;
  @ApiProperty({ type: ReliabilityComponentsResponse }) components!: ReliabilityComponentsResponse;
}
