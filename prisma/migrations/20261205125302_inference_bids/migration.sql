-- AlterTable
ALTER TABLE "bids" ADD COLUMN     "inference_max_price_per_million_tokens" BIGINT,
ADD COLUMN     "inference_model_id" UUID,
ADD COLUMN     "inference_output_tokens_per_second" INTEGER,
ADD COLUMN     "inference_prompt_tokens_per_second" INTEGER,
ADD COLUMN     "inference_ttft_p95_ms" INTEGER;

-- AlterTable
ALTER TABLE "leases" ADD COLUMN     "inference_model_id" UUID,
ADD COLUMN     "inference_output_tokens_per_second" INTEGER,
ADD COLUMN     "inference_price_per_million_tokens" BIGINT,
ADD COLUMN     "inference_prompt_tokens_per_second" INTEGER;

-- AddForeignKey
ALTER TABLE "bids" ADD CONSTRAINT "bids_inference_model_id_fkey" FOREIGN KEY ("inference_model_id") REFERENCES "inference_models"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "leases" ADD CONSTRAINT "leases_inference_model_id_fkey" FOREIGN KEY ("inference_model_id") REFERENCES "inference_models"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- An inference bid carries all its terms and a GPU bid none; likewise a lease (docs/INFERENCE.md
-- "Inference bids"). Triggers, not CHECK constraints: the offline schema engine crashes
-- introspecting CHECK constraints during the drift check. GPU bids and leases (all five or four
-- columns null) never call the functions, and matching's updates do not name these columns.
CREATE FUNCTION "bids_enforce_inference_terms"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF num_nulls(NEW."inference_model_id", NEW."inference_output_tokens_per_second",
               NEW."inference_prompt_tokens_per_second", NEW."inference_ttft_p95_ms",
               NEW."inference_max_price_per_million_tokens") > 0
     OR NEW."inference_output_tokens_per_second" <= 0 OR NEW."inference_prompt_tokens_per_second" < 0
     OR NEW."inference_ttft_p95_ms" <= 0 OR NEW."inference_max_price_per_million_tokens" <= 0 THEN
    RAISE EXCEPTION 'bids: inference terms are all set, positive (prompt tokens/s >= 0), or all null' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "bids_enforce_inference_terms"
  BEFORE INSERT OR UPDATE OF "inference_model_id", "inference_output_tokens_per_second",
    "inference_prompt_tokens_per_second", "inference_ttft_p95_ms", "inference_max_price_per_million_tokens"
  ON "bids" FOR EACH ROW
  WHEN (num_nonnulls(NEW."inference_model_id", NEW."inference_output_tokens_per_second",
                     NEW."inference_prompt_tokens_per_second", NEW."inference_ttft_p95_ms",
                     NEW."inference_max_price_per_million_tokens") > 0)
  EXECUTE FUNCTION "bids_enforce_inference_terms"();

CREATE FUNCTION "leases_enforce_inference_terms"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF num_nulls(NEW."inference_model_id", NEW."inference_price_per_million_tokens",
               NEW."inference_output_tokens_per_second", NEW."inference_prompt_tokens_per_second") > 0
     OR NEW."inference_price_per_million_tokens" < 0 OR NEW."inference_output_tokens_per_second" < 0
     OR NEW."inference_prompt_tokens_per_second" < 0 THEN
    RAISE EXCEPTION 'leases: inference terms are all set and >= 0, or all null' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "leases_enforce_inference_terms"
  BEFORE INSERT OR UPDATE OF "inference_model_id", "inference_price_per_million_tokens",
    "inference_output_tokens_per_second", "inference_prompt_tokens_per_second"
  ON "leases" FOR EACH ROW
  WHEN (num_nonnulls(NEW."inference_model_id", NEW."inference_price_per_million_tokens",
                     NEW."inference_output_tokens_per_second", NEW."inference_prompt_tokens_per_second") > 0)
  EXECUTE FUNCTION "leases_enforce_inference_terms"();

-- What an offer serves is part of its matching view for inference bids: a declaration, a
-- withdrawal or an admin's review decision logs the offer in its market's book changes.
CREATE FUNCTION "serving_profiles_log_book_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "book_changes" ("market_id", "order_kind", "order_id")
    SELECT o."market_id", 'offer', o."id" FROM "offers" o
    WHERE o."id" IN (SELECT n."offer_id" FROM new_rows n);
  ELSE
    INSERT INTO "book_changes" ("market_id", "order_kind", "order_id")
    SELECT o."market_id", 'offer', o."id" FROM "offers" o
    WHERE o."id" IN (SELECT r."offer_id" FROM old_rows r);
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER "serving_profiles_log_book_change_insert" AFTER INSERT ON "serving_profiles"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "serving_profiles_log_book_change"();
CREATE TRIGGER "serving_profiles_log_book_change_update" AFTER UPDATE ON "serving_profiles"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "serving_profiles_log_book_change"();
CREATE TRIGGER "serving_profiles_log_book_change_delete" AFTER DELETE ON "serving_profiles"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "serving_profiles_log_book_change"();
