import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { MAX_GPUS_PER_ORDER } from '@/shared/money';

/** At least one field. A new price takes a new place in time priority; GPUs may only go down. */
export class AmendOfferDto {
  @ApiPropertyOptional({
    type: String,
    example: '17.50',
    description: 'New ask per GPU-hour (decimal string); loses time priority',
  })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  pricePerGpuHour?: string | null;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 1,
    maximum: MAX_GPUS_PER_ORDER,
    description: 'Lower GPU count; not below the GPUs held by leases',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_GPUS_PER_ORDER)
  gpus?: number | null;
}
