-- The public statistics read a market's leases created in a window (docs/STATS.md "Trades by
-- model") at each request: one range scan of this index, not of every lease.

-- CreateIndex
CREATE INDEX "leases_market_id_created_at_idx" ON "leases"("market_id", "created_at");
