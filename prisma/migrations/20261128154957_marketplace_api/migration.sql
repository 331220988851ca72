-- Price-time priority: one global sequence gives every market a monotonic order of acceptance
-- without a hot per-market counter row.
CREATE SEQUENCE "order_seq" AS BIGINT;
-- Repositories take nextval('order_seq') explicitly: a column default on a shared sequence
-- makes Prisma's diff report drift.

-- CreateEnum
CREATE TYPE "UptimeTier" AS ENUM ('TIER_I', 'TIER_II', 'TIER_III', 'TIER_IV');

-- CreateEnum
CREATE TYPE "OrderStatus" AS ENUM ('OPEN', 'PARTIALLY_FILLED', 'FILLED', 'CANCELLED', 'EXPIRED');

-- CreateEnum
CREATE TYPE "BillingMode" AS ENUM ('RESERVED', 'PAY_PER_USE');

-- DropIndex
DROP INDEX "api_keys_organisation_id_idx";

-- AlterTable
ALTER TABLE "api_keys" ADD COLUMN     "rotated_from_id" UUID;

-- CreateTable
CREATE TABLE "refresh_tokens" (
    "id" UUID NOT NULL,
    "user_id" UUID NOT NULL,
    "family_id" UUID NOT NULL,
    "token_hash" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "refresh_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "invitations" (
    "id" UUID NOT NULL,
    "organisation_id" UUID NOT NULL,
    "email" VARCHAR(320) NOT NULL,
    "role" "UserRole" NOT NULL DEFAULT 'MEMBER',
    "token_hash" BYTEA NOT NULL,
    "created_by_user_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "accepted_at" TIMESTAMPTZ(3),
    "revoked_at" TIMESTAMPTZ(3),

    CONSTRAINT "invitations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sites" (
    "id" UUID NOT NULL,
    "organisation_id" UUID NOT NULL,
    "name" VARCHAR(120) NOT NULL,
    "province_code" CHAR(6) NOT NULL,
    "city_code" CHAR(6) NOT NULL,
    "uptime_tier" "UptimeTier" NOT NULL,
    "notes" VARCHAR(2000),
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "sites_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "offers" (
    "id" UUID NOT NULL,
    "organisation_id" UUID NOT NULL,
    "market_id" UUID NOT NULL,
    "site_id" UUID NOT NULL,
    "gpus" INTEGER NOT NULL,
    "leased_gpus" INTEGER NOT NULL DEFAULT 0,
    "price_per_gpu_hour" BIGINT NOT NULL,
    "available_from" TIMESTAMPTZ(3) NOT NULL,
    "available_until" TIMESTAMPTZ(3) NOT NULL,
    "min_lease_hours" INTEGER NOT NULL,
    "pay_per_use_min_percent" INTEGER NOT NULL,
    "status" "OrderStatus" NOT NULL DEFAULT 'OPEN',
    "seq" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "cancelled_at" TIMESTAMPTZ(3),

    CONSTRAINT "offers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "bids" (
    "id" UUID NOT NULL,
    "organisation_id" UUID NOT NULL,
    "market_id" UUID NOT NULL,
    "gpus" INTEGER NOT NULL,
    "filled_gpus" INTEGER NOT NULL DEFAULT 0,
    "max_price_per_gpu_hour" BIGINT NOT NULL,
    "duration_hours" INTEGER NOT NULL,
    "provinces" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "min_gpus_per_site" INTEGER NOT NULL,
    "partial_allowed" BOOLEAN NOT NULL,
    "billing_mode" "BillingMode" NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "status" "OrderStatus" NOT NULL DEFAULT 'OPEN',
    "seq" BIGINT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "cancelled_at" TIMESTAMPTZ(3),

    CONSTRAINT "bids_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "idempotency_records" (
    "scope" VARCHAR(64) NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    "fingerprint" CHAR(64) NOT NULL,
    "status_code" INTEGER NOT NULL,
    "response_body" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "idempotency_records_pkey" PRIMARY KEY ("scope","key")
);

-- CreateTable
CREATE TABLE "audit_log" (
    "id" UUID NOT NULL,
    "actor_user_id" UUID NOT NULL,
    "action" VARCHAR(64) NOT NULL,
    "target_type" VARCHAR(32) NOT NULL,
    "target_id" VARCHAR(64) NOT NULL,
    "details" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "refresh_tokens_token_hash_key" ON "refresh_tokens"("token_hash");

-- CreateIndex
CREATE INDEX "refresh_tokens_family_id_idx" ON "refresh_tokens"("family_id");

-- CreateIndex
CREATE INDEX "refresh_tokens_user_id_idx" ON "refresh_tokens"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "invitations_token_hash_key" ON "invitations"("token_hash");

-- CreateIndex
CREATE INDEX "invitations_organisation_id_created_at_idx" ON "invitations"("organisation_id", "created_at");

-- CreateIndex
CREATE INDEX "sites_organisation_id_created_at_idx" ON "sites"("organisation_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "sites_organisation_id_name_key" ON "sites"("organisation_id", "name");

-- CreateIndex
CREATE INDEX "offers_organisation_id_created_at_idx" ON "offers"("organisation_id", "created_at");

-- CreateIndex
CREATE INDEX "offers_market_id_status_price_per_gpu_hour_seq_idx" ON "offers"("market_id", "status", "price_per_gpu_hour", "seq");

-- CreateIndex
CREATE INDEX "bids_organisation_id_created_at_idx" ON "bids"("organisation_id", "created_at");

-- CreateIndex
CREATE INDEX "bids_market_id_status_max_price_per_gpu_hour_seq_idx" ON "bids"("market_id", "status", "max_price_per_gpu_hour", "seq");

-- CreateIndex
CREATE INDEX "idempotency_records_expires_at_idx" ON "idempotency_records"("expires_at");

-- CreateIndex
CREATE INDEX "audit_log_actor_user_id_created_at_idx" ON "audit_log"("actor_user_id", "created_at");

-- CreateIndex
CREATE INDEX "audit_log_target_type_target_id_created_at_idx" ON "audit_log"("target_type", "target_id", "created_at");

-- CreateIndex
CREATE INDEX "api_keys_organisation_id_created_at_idx" ON "api_keys"("organisation_id", "created_at");

-- AddForeignKey
ALTER TABLE "refresh_tokens" ADD CONSTRAINT "refresh_tokens_user_id_fkey" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "invitations" ADD CONSTRAINT "invitations_organisation_id_fkey" FOREIGN KEY ("organisation_id") REFERENCES "organisations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sites" ADD CONSTRAINT "sites_organisation_id_fkey" FOREIGN KEY ("organisation_id") REFERENCES "organisations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sites" ADD CONSTRAINT "sites_province_code_fkey" FOREIGN KEY ("province_code") REFERENCES "provinces"("code") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sites" ADD CONSTRAINT "sites_city_code_fkey" FOREIGN KEY ("city_code") REFERENCES "cities"("code") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "offers" ADD CONSTRAINT "offers_organisation_id_fkey" FOREIGN KEY ("organisation_id") REFERENCES "organisations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "offers" ADD CONSTRAINT "offers_market_id_fkey" FOREIGN KEY ("market_id") REFERENCES "markets"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "offers" ADD CONSTRAINT "offers_site_id_fkey" FOREIGN KEY ("site_id") REFERENCES "sites"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "bids" ADD CONSTRAINT "bids_organisation_id_fkey" FOREIGN KEY ("organisation_id") REFERENCES "organisations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "bids" ADD CONSTRAINT "bids_market_id_fkey" FOREIGN KEY ("market_id") REFERENCES "markets"("id") ON DELETE RESTRICT ON UPDATE CASCADE;


-- Rules the database enforces even if application code were wrong. They are triggers rather
-- than CHECK constraints because the offline (wasm) schema engine panics when it introspects
-- CHECK constraints during the drift check; the error code is check_violation either way.
CREATE FUNCTION "offers_enforce_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."gpus" <= 0 THEN
    RAISE EXCEPTION 'offers: gpus must be positive' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW."leased_gpus" < 0 OR NEW."leased_gpus" > NEW."gpus" THEN
    RAISE EXCEPTION 'offers: leased_gpus % outside 0..%', NEW."leased_gpus", NEW."gpus" USING ERRCODE = 'check_violation';
  END IF;
  IF NEW."price_per_gpu_hour" <= 0 THEN
    RAISE EXCEPTION 'offers: price must be positive' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW."available_until" <= NEW."available_from" THEN
    RAISE EXCEPTION 'offers: available_until must be after available_from' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW."min_lease_hours" < 1 OR NEW."pay_per_use_min_percent" NOT BETWEEN 0 AND 100 THEN
    RAISE EXCEPTION 'offers: lease minimums out of range' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "offers_enforce_rules" BEFORE INSERT OR UPDATE ON "offers"
  FOR EACH ROW EXECUTE FUNCTION "offers_enforce_rules"();

CREATE FUNCTION "bids_enforce_rules"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."gpus" <= 0 OR NEW."filled_gpus" < 0 OR NEW."filled_gpus" > NEW."gpus" THEN
    RAISE EXCEPTION 'bids: filled_gpus % outside 0..%', NEW."filled_gpus", NEW."gpus" USING ERRCODE = 'check_violation';
  END IF;
  IF NEW."max_price_per_gpu_hour" <= 0 THEN
    RAISE EXCEPTION 'bids: price must be positive' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW."duration_hours" NOT BETWEEN 1 AND 720 THEN
    RAISE EXCEPTION 'bids: duration_hours outside 1..720' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW."min_gpus_per_site" < 1 OR NEW."min_gpus_per_site" > NEW."gpus" THEN
    RAISE EXCEPTION 'bids: min_gpus_per_site outside 1..gpus' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER "bids_enforce_rules" BEFORE INSERT OR UPDATE ON "bids"
  FOR EACH ROW EXECUTE FUNCTION "bids_enforce_rules"();
