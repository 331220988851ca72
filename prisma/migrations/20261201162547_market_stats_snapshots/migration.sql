-- CreateTable
CREATE TABLE "stats_site_hours" (
    "site_id" UUID NOT NULL,
    "market_id" UUID NOT NULL,
    "bucket_start" TIMESTAMPTZ(3) NOT NULL,
    "organisation_id" UUID NOT NULL,
    "province_code" CHAR(6) NOT NULL,
    "offered_gpu_seconds" BIGINT NOT NULL,
    "leased_gpu_seconds" BIGINT NOT NULL,
    "traded_gpu_hours" BIGINT NOT NULL,
    "proceeds_minor" BIGINT NOT NULL,
    "computed_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "stats_site_hours_pkey" PRIMARY KEY ("site_id","market_id","bucket_start")
);

-- CreateTable
CREATE TABLE "stats_market_hours" (
    "market_id" UUID NOT NULL,
    "bucket_start" TIMESTAMPTZ(3) NOT NULL,
    "closed_bids" INTEGER NOT NULL,
    "closed_bid_gpu_hours" BIGINT NOT NULL,
    "closed_filled_gpu_hours" BIGINT NOT NULL,
    "unmet_expired_gpu_hours" BIGINT NOT NULL,
    "unmet_cancelled_gpu_hours" BIGINT NOT NULL,
    "first_fills" INTEGER NOT NULL,
    "first_fill_wait_seconds" BIGINT NOT NULL,
    "full_fills" INTEGER NOT NULL,
    "full_fill_wait_seconds" BIGINT NOT NULL,
    "stale_open_bids" INTEGER NOT NULL,
    "stale_open_bid_gpu_hours" BIGINT NOT NULL,
    "trades" INTEGER NOT NULL,
    "traded_gpu_hours" BIGINT NOT NULL,
    "trade_providers" INTEGER NOT NULL,
    "price_open" BIGINT,
    "price_high" BIGINT,
    "price_low" BIGINT,
    "price_close" BIGINT,
    "notional_minor" BIGINT NOT NULL,
    "computed_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "stats_market_hours_pkey" PRIMARY KEY ("market_id","bucket_start")
);

-- CreateTable
CREATE TABLE "stats_offer_outcomes" (
    "market_id" UUID NOT NULL,
    "province_code" CHAR(6) NOT NULL,
    "bucket_start" TIMESTAMPTZ(3) NOT NULL,
    "price_per_gpu_hour" BIGINT NOT NULL,
    "offers" INTEGER NOT NULL,
    "leased_within_24h" INTEGER NOT NULL,
    "computed_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "stats_offer_outcomes_pkey" PRIMARY KEY ("market_id","province_code","bucket_start","price_per_gpu_hour")
);

-- CreateIndex
CREATE INDEX "stats_site_hours_market_id_bucket_start_idx" ON "stats_site_hours"("market_id", "bucket_start");

-- CreateIndex
CREATE INDEX "stats_site_hours_organisation_id_bucket_start_idx" ON "stats_site_hours"("organisation_id", "bucket_start");

-- CreateIndex
CREATE INDEX "stats_market_hours_bucket_start_idx" ON "stats_market_hours"("bucket_start");

-- CreateIndex
CREATE INDEX "stats_offer_outcomes_market_id_bucket_start_idx" ON "stats_offer_outcomes"("market_id", "bucket_start");
