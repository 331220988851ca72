-- Orders whose matching view changed since the market's single writer last read its book
-- (docs/MATCHING.md "Runs in the exchange"). Triggers fill it in the transaction of the change;
-- a run deletes its market's rows and re-reads just those orders. Duplicates are harmless.
-- No foreign key: a row outlives nothing it names for long, and deleting an order logs it too.
CREATE TABLE "book_changes" (
    "id" BIGSERIAL NOT NULL,
    "market_id" UUID NOT NULL,
    "order_kind" VARCHAR(5) NOT NULL,
    "order_id" UUID NOT NULL,

    CONSTRAINT "book_changes_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "book_changes_market_id_idx" ON "book_changes"("market_id");

-- Matching's own commit sets `cx.matching_commit` (transaction-local): the writer applies its
-- fills to its memory itself, so logging them would only make its next run re-read them.
CREATE FUNCTION "book_changes_writer_commit"() RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT coalesce(current_setting('cx.matching_commit', true), '') = 'on'
$$;

CREATE FUNCTION "bids_log_book_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF "book_changes_writer_commit"() THEN RETURN NULL; END IF;
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "book_changes" ("market_id", "order_kind", "order_id")
    SELECT n."market_id", 'bid', n."id" FROM new_rows n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO "book_changes" ("market_id", "order_kind", "order_id")
    SELECT o."market_id", 'bid', o."id" FROM old_rows o;
  ELSE
    -- Only the columns matching reads: a change of anything else leaves the book as it was.
    INSERT INTO "book_changes" ("market_id", "order_kind", "order_id")
    SELECT n."market_id", 'bid', n."id" FROM new_rows n JOIN old_rows o ON o."id" = n."id"
    WHERE (o."status", o."gpus", o."filled_gpus", o."max_price_per_gpu_hour", o."seq", o."duration_hours",
           o."provinces", o."min_gpus_per_site", o."partial_allowed", o."billing_mode", o."expires_at",
           o."organisation_id", o."market_id")
      IS DISTINCT FROM
          (n."status", n."gpus", n."filled_gpus", n."max_price_per_gpu_hour", n."seq", n."duration_hours",
           n."provinces", n."min_gpus_per_site", n."partial_allowed", n."billing_mode", n."expires_at",
           n."organisation_id", n."market_id");
  END IF;
  RETURN NULL;
END $$;

CREATE FUNCTION "offers_log_book_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF "book_changes_writer_commit"() THEN RETURN NULL; END IF;
  IF TG_OP = 'INSERT' THEN
    INSERT INTO "book_changes" ("market_id", "order_kind", "order_id")
    SELECT n."market_id", 'offer', n."id" FROM new_rows n;
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO "book_changes" ("market_id", "order_kind", "order_id")
    SELECT o."market_id", 'offer', o."id" FROM old_rows o;
  ELSE
    INSERT INTO "book_changes" ("market_id", "order_kind", "order_id")
    SELECT n."market_id", 'offer', n."id" FROM new_rows n JOIN old_rows o ON o."id" = n."id"
    WHERE (o."status", o."gpus", o."leased_gpus", o."price_per_gpu_hour", o."seq", o."available_from",
           o."available_until", o."min_lease_hours", o."pay_per_use_min_percent", o."site_id",
           o."organisation_id", o."market_id")
      IS DISTINCT FROM
          (n."status", n."gpus", n."leased_gpus", n."price_per_gpu_hour", n."seq", n."available_from",
           n."available_until", n."min_lease_hours", n."pay_per_use_min_percent", n."site_id",
           n."organisation_id", n."market_id");
  END IF;
  RETURN NULL;
END $$;

-- Statement triggers with transition tables: one insert per statement, however many rows it
-- touched (a run's commit, a lease sweep, a batch of placements).
CREATE TRIGGER "bids_log_book_change_insert" AFTER INSERT ON "bids"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "bids_log_book_change"();
CREATE TRIGGER "bids_log_book_change_update" AFTER UPDATE ON "bids"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "bids_log_book_change"();
CREATE TRIGGER "bids_log_book_change_delete" AFTER DELETE ON "bids"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "bids_log_book_change"();
CREATE TRIGGER "offers_log_book_change_insert" AFTER INSERT ON "offers"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "offers_log_book_change"();
CREATE TRIGGER "offers_log_book_change_update" AFTER UPDATE ON "offers"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "offers_log_book_change"();
CREATE TRIGGER "offers_log_book_change_delete" AFTER DELETE ON "offers"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "offers_log_book_change"();

-- Verification, suspension and reinstatement change whether an organisation's live orders can
-- trade: each of them is logged in its market.
CREATE FUNCTION "organisations_log_book_change"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "book_changes" ("market_id", "order_kind", "order_id")
  SELECT b."market_id", 'bid', b."id" FROM "bids" b
  WHERE b."organisation_id" = NEW."id" AND b."status" IN ('OPEN', 'PARTIALLY_FILLED')
  UNION ALL
  SELECT o."market_id", 'offer', o."id" FROM "offers" o
  WHERE o."organisation_id" = NEW."id" AND o."status" IN ('OPEN', 'PARTIALLY_FILLED');
  RETURN NULL;
END $$;

CREATE TRIGGER "organisations_log_book_change" AFTER UPDATE OF "status" ON "organisations"
  FOR EACH ROW WHEN (OLD."status" IS DISTINCT FROM NEW."status")
  EXECUTE FUNCTION "organisations_log_book_change"();
