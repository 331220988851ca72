-- CreateEnum
CREATE TYPE "Quantisation" AS ENUM ('BF16', 'FP16', 'FP8', 'INT8', 'INT4');

-- CreateEnum
CREATE TYPE "ServingProfileReview" AS ENUM ('NOT_FLAGGED', 'PENDING_REVIEW', 'ACCEPTED', 'REJECTED');

-- CreateTable
CREATE TABLE "inference_models" (
    "id" UUID NOT NULL,
    "slug" VARCHAR(64) NOT NULL,
    "family" VARCHAR(64) NOT NULL,
    "name" VARCHAR(128) NOT NULL,
    "parameters" BIGINT NOT NULL,
    "active_parameters" BIGINT NOT NULL,
    "quantisation" "Quantisation" NOT NULL,
    "bytes_per_parameter" DOUBLE PRECISION NOT NULL,
    "context_length" INTEGER NOT NULL,
    "kv_cache_bytes_per_token" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "inference_models_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "market_gpu_specs" (
    "market_id" UUID NOT NULL,
    "memory_bandwidth_gb_per_s" INTEGER NOT NULL,
    "fp16_tflops" DOUBLE PRECISION NOT NULL,
    "fp8_tflops" DOUBLE PRECISION,
    "int8_tops" DOUBLE PRECISION NOT NULL,

    CONSTRAINT "market_gpu_specs_pkey" PRIMARY KEY ("market_id")
);

-- CreateTable
CREATE TABLE "serving_profiles" (
    "id" UUID NOT NULL,
    "offer_id" UUID NOT NULL,
    "organisation_id" UUID NOT NULL,
    "model_id" UUID NOT NULL,
    "concurrency" INTEGER NOT NULL,
    "prompt_tokens_per_second_per_gpu" DOUBLE PRECISION NOT NULL,
    "output_tokens_per_second_per_gpu" DOUBLE PRECISION NOT NULL,
    "ttft_p50_ms" INTEGER NOT NULL,
    "ttft_p95_ms" INTEGER NOT NULL,
    "reference_gpus_per_replica" INTEGER,
    "reference_prompt_tokens_per_second_per_gpu" DOUBLE PRECISION,
    "reference_output_tokens_per_second_per_gpu" DOUBLE PRECISION,
    "reference_ttft_p50_ms" INTEGER,
    "reference_ttft_p95_ms" INTEGER,
    "flags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "review" "ServingProfileReview" NOT NULL,
    "reviewed_by_user_id" UUID,
    "reviewed_at" TIMESTAMPTZ(3),
    "review_reason" VARCHAR(500),
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "serving_profiles_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "inference_models_slug_key" ON "inference_models"("slug");

-- CreateIndex
CREATE INDEX "inference_models_created_at_id_idx" ON "inference_models"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "serving_profiles_organisation_id_offer_id_idx" ON "serving_profiles"("organisation_id", "offer_id");

-- CreateIndex
CREATE INDEX "serving_profiles_review_created_at_id_idx" ON "serving_profiles"("review", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "serving_profiles_offer_id_model_id_key" ON "serving_profiles"("offer_id", "model_id");

-- AddForeignKey
ALTER TABLE "market_gpu_specs" ADD CONSTRAINT "market_gpu_specs_market_id_fkey" FOREIGN KEY ("market_id") REFERENCES "markets"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "serving_profiles" ADD CONSTRAINT "serving_profiles_offer_id_fkey" FOREIGN KEY ("offer_id") REFERENCES "offers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "serving_profiles" ADD CONSTRAINT "serving_profiles_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "inference_models"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- Rules the database enforces even if application code were wrong: positive sizes and figures,
-- a p95 never below its p50 (docs/INFERENCE.md). Triggers, not CHECK constraints: the offline
-- schema engine crashes introspecting CHECK constraints during the drift check.
CREATE FUNCTION "inference_models_enforce_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."parameters" <= 0 OR NEW."active_parameters" <= 0 OR NEW."active_parameters" > NEW."parameters"
     OR NEW."bytes_per_parameter" <= 0 OR NEW."context_length" <= 0 OR NEW."kv_cache_bytes_per_token" <= 0 THEN
    RAISE EXCEPTION 'inference_models: sizes must be positive, active_parameters <= parameters' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "inference_models_enforce_rules" BEFORE INSERT OR UPDATE ON "inference_models"
  FOR EACH ROW EXECUTE FUNCTION "inference_models_enforce_rules"();

CREATE FUNCTION "serving_profiles_enforce_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."concurrency" <= 0 OR NEW."prompt_tokens_per_second_per_gpu" <= 0
     OR NEW."output_tokens_per_second_per_gpu" <= 0 OR NEW."ttft_p50_ms" <= 0
     OR NEW."ttft_p95_ms" < NEW."ttft_p50_ms" THEN
    RAISE EXCEPTION 'serving_profiles: figures must be positive, ttft_p95_ms >= ttft_p50_ms' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "serving_profiles_enforce_rules" BEFORE INSERT OR UPDATE ON "serving_profiles"
  FOR EACH ROW EXECUTE FUNCTION "serving_profiles_enforce_rules"();

-- The catalogue's first models (docs/INFERENCE.md, "The catalogue"): parameters and KV cache per
-- token from each model's published configuration; the KV cache is 16-bit.
INSERT INTO "inference_models" ("id", "slug", "family", "name", "parameters", "active_parameters", "quantisation", "bytes_per_parameter", "context_length", "kv_cache_bytes_per_token", "created_at") VALUES
  ('01a2f3c0-8e00-7000-8000-000000000101', 'qwen2.5-7b-instruct',        'Qwen2.5',     'Qwen2.5 7B Instruct',          7615616512,   7615616512,  'BF16', 2,       32768,  57344,  '2026-12-05T08:52:18Z'),
  ('01a2f3c0-8e00-7000-8000-000000000102', 'llama-3.1-8b-instruct',      'Llama 3.1',   'Llama 3.1 8B Instruct',        8030261248,   8030261248,  'BF16', 2,       131072, 131072, '2026-12-05T08:52:18Z'),
  ('01a2f3c0-8e00-7000-8000-000000000103', 'qwen2.5-32b-instruct',       'Qwen2.5',     'Qwen2.5 32B Instruct',         32763876352,  32763876352, 'BF16', 2,       32768,  262144, '2026-12-05T08:52:18Z'),
  ('01a2f3c0-8e00-7000-8000-000000000104', 'qwen3-30b-a3b',              'Qwen3',       'Qwen3 30B-A3B (MoE)',          30532122624,  3300000000,  'BF16', 2,       32768,  98304,  '2026-12-05T08:52:18Z'),
  ('01a2f3c0-8e00-7000-8000-000000000105', 'llama-3.3-70b-instruct',     'Llama 3.3',   'Llama 3.3 70B Instruct',       70553706496,  70553706496, 'BF16', 2,       131072, 327680, '2026-12-05T08:52:18Z'),
  ('01a2f3c0-8e00-7000-8000-000000000106', 'llama-3.3-70b-instruct-fp8', 'Llama 3.3',   'Llama 3.3 70B Instruct FP8',   70553706496,  70553706496, 'FP8',  1,       131072, 327680, '2026-12-05T08:52:18Z'),
  ('01a2f3c0-8e00-7000-8000-000000000107', 'qwen2.5-72b-instruct-awq',   'Qwen2.5',     'Qwen2.5 72B Instruct AWQ',     72706203648,  72706203648, 'INT4', 0.53125, 32768,  327680, '2026-12-05T08:52:18Z'),
  ('01a2f3c0-8e00-7000-8000-000000000108', 'deepseek-v3',                'DeepSeek-V3', 'DeepSeek-V3 (MoE, FP8)',       671000000000, 37000000000, 'FP8',  1,       131072, 70272,  '2026-12-05T08:52:18Z');

-- Spec-sheet figures of each market's GPU, dense (docs/INFERENCE.md, "GPU figures", with sources).
INSERT INTO "market_gpu_specs" ("market_id", "memory_bandwidth_gb_per_s", "fp16_tflops", "fp8_tflops", "int8_tops") VALUES
  ('01a21f73-9c00-7000-8000-000000000001', 3350, 989.4,  1978.9, 1978.9),
  ('01a21f73-9c00-7000-8000-000000000002', 3350, 989.4,  1978.9, 1978.9),
  ('01a21f73-9c00-7000-8000-000000000003', 4000, 148,    296,    296),
  ('01a21f73-9c00-7000-8000-000000000004', 2039, 312,    NULL,   624),
  ('01a21f73-9c00-7000-8000-000000000005', 2039, 312,    NULL,   624),
  ('01a21f73-9c00-7000-8000-000000000006', 864,  362.05, 733,    733),
  ('01a21f73-9c00-7000-8000-000000000007', 1008, 165.2,  330.3,  660.6),
  ('01a21f73-9c00-7000-8000-000000000008', 1600, 320,    NULL,   640);
