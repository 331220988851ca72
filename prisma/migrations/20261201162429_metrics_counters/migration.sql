-- AlterTable
ALTER TABLE "market_matching" ADD COLUMN     "filled_gpu_hours" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "leases_created" BIGINT NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "ledger_transfer_counters" (
    "kind" "LedgerTransferKind" NOT NULL,
    "currency" CHAR(3) NOT NULL,
    "slot" INTEGER NOT NULL,
    "transfers" BIGINT NOT NULL DEFAULT 0,
    "amount" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "ledger_transfer_counters_pkey" PRIMARY KEY ("kind","currency","slot")
);

-- /metrics reads these counters instead of counting big tables at every scrape. They are kept in
-- the transaction of the write they count, so they are exact and cluster-wide.

-- Matches per market: the matching commit already holds its market_matching row (the epoch
-- fence), so adding to it costs no extra lock.
CREATE FUNCTION "leases_count_matches"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "market_matching" mm
  SET "leases_created" = mm."leases_created" + n."leases",
      "filled_gpu_hours" = mm."filled_gpu_hours" + n."gpu_hours"
  FROM (SELECT "market_id", count(*) AS "leases", sum("gpus"::bigint * "duration_hours") AS "gpu_hours"
        FROM new_leases GROUP BY "market_id") n
  WHERE mm."market_id" = n."market_id";
  RETURN NULL;
END $$;

CREATE TRIGGER "leases_count_matches" AFTER INSERT ON "leases"
  REFERENCING NEW TABLE AS new_leases FOR EACH STATEMENT EXECUTE FUNCTION "leases_count_matches"();

-- Transfers by kind: one counter row per database backend (slot = pg_backend_pid()), so
-- concurrent postings, which run on different backends, never wait on one row (no hot row).
CREATE FUNCTION "ledger_count_transfers"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "ledger_transfer_counters" ("kind", "currency", "slot", "transfers")
  SELECT "kind", "currency", pg_backend_pid(), count(*) FROM new_transfers GROUP BY "kind", "currency"
  ON CONFLICT ("kind", "currency", "slot")
  DO UPDATE SET "transfers" = "ledger_transfer_counters"."transfers" + EXCLUDED."transfers";
  RETURN NULL;
END $$;

CREATE TRIGGER "ledger_count_transfers" AFTER INSERT ON "ledger_transfers"
  REFERENCING NEW TABLE AS new_transfers FOR EACH STATEMENT EXECUTE FUNCTION "ledger_count_transfers"();

-- The amount a transfer moves is the sum of its positive entries (they sum to zero).
CREATE FUNCTION "ledger_count_transfer_amounts"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "ledger_transfer_counters" ("kind", "currency", "slot", "amount")
  SELECT t."kind", t."currency", pg_backend_pid(), sum(e."amount")
  FROM new_entries e JOIN "ledger_transfers" t ON t."id" = e."transfer_id"
  WHERE e."amount" > 0
  GROUP BY t."kind", t."currency"
  ON CONFLICT ("kind", "currency", "slot")
  DO UPDATE SET "amount" = "ledger_transfer_counters"."amount" + EXCLUDED."amount";
  RETURN NULL;
END $$;

CREATE TRIGGER "ledger_count_transfer_amounts" AFTER INSERT ON "ledger_entries"
  REFERENCING NEW TABLE AS new_entries FOR EACH STATEMENT EXECUTE FUNCTION "ledger_count_transfer_amounts"();

-- What happened before this migration, once.
UPDATE "market_matching" mm
SET "leases_created" = n."leases", "filled_gpu_hours" = n."gpu_hours"
FROM (SELECT "market_id", count(*) AS "leases", sum("gpus"::bigint * "duration_hours") AS "gpu_hours"
      FROM "leases" GROUP BY "market_id") n
WHERE mm."market_id" = n."market_id";

INSERT INTO "ledger_transfer_counters" ("kind", "currency", "slot", "transfers", "amount")
SELECT t."kind", t."currency", 0, count(*),
       COALESCE(sum((SELECT sum(e."amount") FROM "ledger_entries" e WHERE e."transfer_id" = t."id" AND e."amount" > 0)), 0)
FROM "ledger_transfers" t GROUP BY t."kind", t."currency";
