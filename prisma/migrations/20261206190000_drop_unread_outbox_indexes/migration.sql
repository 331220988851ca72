-- No query reads outbox_events by (aggregate_type, aggregate_id) or by occurred_at: the relay
-- claims by (published_at, seq), streams and webhooks read by stream_position and audience, the
-- reconciler and the prune by published_at, SSE resumes by seq. Each event wrote an entry in both
-- at insert and again when the relay marked it published (that update changes indexed columns, so
-- it is never HOT): 2.5 events per order, and the (aggregate_type, aggregate_id) index, keyed by
-- text, was the outbox's largest (docs/BENCHMARKS.md, "What limits it now").
-- DropIndex
DROP INDEX "outbox_events_aggregate_type_aggregate_id_idx";

-- DropIndex
DROP INDEX "outbox_events_occurred_at_idx";
