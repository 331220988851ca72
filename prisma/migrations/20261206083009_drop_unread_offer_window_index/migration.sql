-- No query reads offers by (status, available_from): the matching sweep's backstop that did
-- (a market with an offer whose window had opened) now asks only for live orders, by market.
-- Every placement and every fill wrote its entry (a fill changes `status`), for nothing
-- (docs/BENCHMARKS.md, "Where PostgreSQL's time per order goes").
-- DropIndex
DROP INDEX "offers_status_available_from_idx";
