import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';
import { IsMarketSlug } from '@/infra/http/field-validators';
import { MAX_CONCURRENCY } from '../domain/reference-profile';
import { MODEL_SLUG_PATTERN } from './inference-model.dto';

export class ReferenceProfilesQuery {
  @ApiPropertyOptional({ example: 'llama-3.3-70b-instruct', description: 'One model; absent: every model' })
  @IsOptional()
  @IsString()
  @Matches(MODEL_SLUG_PATTERN, { message: 'model must be a model slug such as "llama-3.3-70b-instruct"' })
  model?: string;

  @ApiPropertyOptional({ example: 'nvidia-h100-80gb', description: 'One market; absent: every market' })
  @IsOptional()
  @IsMarketSlug()
  market?: string;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_CONCURRENCY,
    description: 'Concurrent requests per GPU the figures hold at; absent: 8',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_CONCURRENCY)
  concurrency?: number;
}

export class ReferenceFiguresResponse {
  @ApiProperty({ example: 4, description: 'GPUs one copy of the model needs (tensor parallel)' })
  gpusPerReplica!: number;
  @ApiProperty({ example: 2804.6, description: 'Prefill tokens/s per GPU' })
  promptTokensPerSecondPerGpu!: number;
  @ApiProperty({ example: 419.8, description: 'Decode tokens/s per GPU' })
  outputTokensPerSecondPerGpu!: number;
  @ApiProperty({ example: 111 }) ttftP50Ms!: number;
  @ApiProperty({ example: 202 }) ttftP95Ms!: number;
}

export class ReferenceProfileResponse {
  @ApiProperty({ example: 'llama-3.3-70b-instruct' }) model!: string;
  @ApiProperty({ example: 'nvidia-h100-80gb' }) market!: string;
  @ApiProperty({ example: 8, description: 'Concurrent requests per GPU' }) concurrency!: number;
  @ApiProperty({
    enum: ['DERIVED', 'DOES_NOT_FIT', 'NO_GPU_SPEC'],
    description:
      'DERIVED: figures from docs/INFERENCE.md; DOES_NOT_FIT: no replica of up to 64 GPUs holds the model ' +
      'at this concurrency; NO_GPU_SPEC: the market has no GPU figures',
  })
  basis!: string;
  @ApiProperty({ type: ReferenceFiguresResponse, nullable: true, description: 'Null unless DERIVED' })
  figures!: ReferenceFiguresResponse | null;
}

export class ReferenceProfileListResponse {
  @ApiProperty({ type: [ReferenceProfileResponse] }) data!: ReferenceProfileResponse[];
}
