-- CreateIndex
CREATE INDEX "bids_organisation_id_status_idx" ON "bids"("organisation_id", "status");

-- CreateIndex
CREATE INDEX "offers_organisation_id_status_idx" ON "offers"("organisation_id", "status");

-- CreateIndex
CREATE INDEX "offers_created_at_id_idx" ON "offers"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "offers_market_id_created_at_id_idx" ON "offers"("market_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "outbox_events_occurred_at_idx" ON "outbox_events"("occurred_at");
