import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { IsSafeText } from '@/infra/http/field-validators';
import { QUANTISATIONS } from '../domain/reference-profile';
import { MODEL_SLUG_PATTERN } from '../domain/model-slug';

export { MODEL_SLUG_PATTERN };
/** Ten trillion parameters: beyond every model published, within exact JSON integers. */
export const MAX_PARAMETERS = 10_000_000_000_000;

export class InferenceModelResponse {
  @ApiProperty({ example: 'llama-3.3-70b-instruct' }) slug!: string;
  @ApiProperty({ example: 'Llama 3.3' }) family!: string;
  @ApiProperty({ example: 'Llama 3.3 70B Instruct' }) name!: string;
  @ApiProperty({ example: 70553706496, description: 'Total parameters' }) parameters!: number;
  @ApiProperty({
    example: 70553706496,
    description:
      'Parameters each token passes through: all for a dense model, fewer for a mixture of experts',
  })
  activeParameters!: number;
  @ApiProperty({ enum: QUANTISATIONS, example: 'BF16' }) quantisation!: string;
  @ApiProperty({ example: 2, description: 'Bytes of weights per parameter, quantisation scales included' })
  bytesPerParameter!: number;
  @ApiProperty({ example: 131072, description: 'Context length, tokens' }) contextLength!: number;
  @ApiProperty({
    example: 327680,
    description: 'KV-cache bytes per token of context across all layers (16-bit cache)',
  })
  kvCacheBytesPerToken!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
}

export class InferenceModelListResponse {
  @ApiProperty({ type: [InferenceModelResponse] }) data!: InferenceModelResponse[];
}

export class CreateInferenceModelDto {
  @ApiProperty({
    example: 'qwen2.5-14b-instruct',
    description: 'Unique; lower-case letters, digits, "." and "-", at most 64 characters',
  })
  @IsString()
  @Matches(MODEL_SLUG_PATTERN, { message: 'slug must be lower-case letters, digits, "." and "-" (1-64)' })
  slug!: string;

  @ApiProperty({ example: 'Qwen2.5' })
  @IsString()
  @MinLength(1)
  @MaxLength(64)
  @IsSafeText()
  family!: string;

  @ApiProperty({ example: 'Qwen2.5 14B Instruct' })
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  @IsSafeText()
  name!: string;

  @ApiProperty({ example: 14770033664, minimum: 1, maximum: MAX_PARAMETERS })
  @IsInt()
  @Min(1)
  @Max(MAX_PARAMETERS)
  parameters!: number;

  @ApiPropertyOptional({
    example: 14770033664,
    minimum: 1,
    maximum: MAX_PARAMETERS,
    description: 'At most `parameters`; absent for a dense model (all parameters active)',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_PARAMETERS)
  activeParameters?: number;

  @ApiProperty({ enum: QUANTISATIONS, example: 'BF16' })
  @IsIn(QUANTISATIONS)
  quantisation!: string;

  @ApiPropertyOptional({
    example: 2,
    minimum: 0.125,
    maximum: 4,
    description:
      'Bytes per parameter with quantisation scales; absent: 2 for BF16/FP16, 1 for FP8/INT8, 0.5 for INT4',
  })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.125)
  @Max(4)
  bytesPerParameter?: number;

  @ApiProperty({ example: 32768, minimum: 2048, maximum: 10_000_000 })
  @IsInt()
  @Min(2048)
  @Max(10_000_000)
  contextLength!: number;

  @ApiProperty({
    example: 196608,
    minimum: 1,
    maximum: 100_000_000,
    description: '2 (K and V) x layers x KV heads x head dimension x 2 bytes, or the MLA latent size',
  })
  @IsInt()
  @Min(1)
  @Max(100_000_000)
  kvCacheBytesPerToken!: number;
}
