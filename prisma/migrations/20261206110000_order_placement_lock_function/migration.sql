-- A group commit's reads in one round trip (docs/ARCHITECTURE.md "Group commit of placements";
-- issue 14).
--
-- A batch of placements read under its locks in four to six statements, each its own round
-- trip: the placement locks with the seqs, statuses and stored idempotency responses; the live
-- bids of its buyers; its re-placements' plans, row-locked; its buyers' balances, row-locked;
-- and, for buyers with a spend cap, the month's settled charges. This function runs the same
-- reads in the same order, each a statement of its own, so the batch pays one round trip. It is
-- VOLATILE on purpose: each statement inside takes a fresh snapshot (READ COMMITTED), so what is
-- read after a lock is read after it was granted, as the separate statements did. One statement
-- sent from the app would read everything in the snapshot it started with, before its waits:
-- the live bids and settled charges committed by the batch it waited for would be missed.
--
-- The order of the locks is the one every committer takes: the organisations' advisory
-- placement locks (sorted by the caller) with a KEY SHARE on their rows, then the plans in id
-- order, then the buyer balances in account-id order (the order of every ledger posting).
CREATE FUNCTION "order_placement_lock"(
  p_organisation_ids TEXT[], p_seqs INT, p_market_ids UUID[], p_record_scopes TEXT[], p_record_keys TEXT[],
  p_at TIMESTAMPTZ, p_live_bids_of UUID[], p_live_statuses TEXT[], p_plan_ids UUID[],
  p_plan_organisation_ids UUID[], p_fund_organisation_ids UUID[], p_fund_currencies TEXT[],
  p_spend_since TIMESTAMPTZ
) RETURNS TABLE (
  seqs TEXT[], organisations TEXT[], markets TEXT[], records JSON, live_bids JSON, plans JSON, funds JSON,
  settled JSON
) LANGUAGE plpgsql AS $$
DECLARE
  v_seqs TEXT[];
  v_organisations TEXT[];
  v_markets TEXT[];
  v_records JSON;
  v_live_bids JSON := '[]';
  v_plans JSON := '[]';
  v_funds JSON := '[]';
  v_settled JSON := '[]';
BEGIN
  PERFORM count(pg_advisory_xact_lock(hashtextextended('orders:' || k, 0)))
    FROM unnest(p_organisation_ids) AS k;

  SELECT ARRAY(SELECT nextval('order_seq')::text FROM generate_series(1, p_seqs)),
         ARRAY(SELECT o.id::text || ' ' || o.status::text FROM organisations o
                WHERE o.id = ANY(p_organisation_ids::uuid[]) FOR KEY SHARE),
         ARRAY(SELECT m.id::text || ' ' || m.status::text FROM markets m WHERE m.id = ANY(p_market_ids)),
         (SELECT coalesce(json_agg(json_build_object('scope', r.scope, 'key', r.key, 'fingerprint', r.fingerprint,
                                                     'statusCode', r.status_code, 'body', r.response_body)), '[]')
            FROM idempotency_records r
            JOIN unnest(p_record_scopes, p_record_keys) AS q(scope, key) ON r.scope = q.scope AND r.key = q.key
           WHERE r.expires_at > p_at)
    INTO v_seqs, v_organisations, v_markets, v_records;

  IF cardinality(p_live_bids_of) > 0 THEN
    SELECT coalesce(json_agg(json_build_object('organisationId', c.organisation_id, 'n', c.n)), '[]')
      INTO v_live_bids
      FROM (SELECT b.organisation_id::text, count(*)::int AS n FROM bids b
             WHERE b.organisation_id = ANY(p_live_bids_of) AND b.status = ANY(p_live_statuses::"OrderStatus"[])
             GROUP BY b.organisation_id) c;
  END IF;

  IF cardinality(p_plan_ids) > 0 THEN
    SELECT coalesce(json_agg(row_to_json(l)), '[]') INTO v_plans
      FROM (SELECT p.id::text, p.organisation_id::text AS "organisationId", p.currency, p.max_count AS "maxCount",
                   p.budget::text, p.used_count AS "usedCount", p.used_budget::text AS "usedBudget",
                   p.stopped_at AS "stoppedAt", p.created_at AS "createdAt", p.updated_at AS "updatedAt"
              FROM bid_replacement_plans p
              JOIN unnest(p_plan_ids, p_plan_organisation_ids) AS w(id, organisation_id)
                ON p.id = w.id AND p.organisation_id = w.organisation_id
             ORDER BY p.id
               FOR UPDATE OF p) l;
  END IF;

  IF cardinality(p_fund_organisation_ids) > 0 THEN
    SELECT coalesce(json_agg(row_to_json(f)), '[]') INTO v_funds
      FROM (SELECT a.organisation_id::text AS "organisationId", a.kind::text AS kind, a.currency,
                   a.balance::text, l.spend_cap::text AS "spendCap",
                   l.low_balance_threshold::text AS "lowBalanceThreshold"
              FROM ledger_accounts a
              JOIN unnest(p_fund_organisation_ids, p_fund_currencies) AS p(organisation_id, currency)
                ON a.organisation_id = p.organisation_id AND a.currency = p.currency
              LEFT JOIN billing_limits l ON l.organisation_id = a.organisation_id AND l.currency = a.currency
             ORDER BY a.id
               FOR UPDATE OF a) f;

    -- The month's settled charges of the capped buyers, read after their balances were locked.
    SELECT coalesce(json_agg(row_to_json(s)), '[]') INTO v_settled
      FROM (SELECT p.organisation_id::text AS "organisationId", p.currency,
                   COALESCE(SUM(-e.amount), 0)::text AS total
              FROM unnest(p_fund_organisation_ids, p_fund_currencies) AS p(organisation_id, currency)
              JOIN billing_limits bl
                ON bl.organisation_id = p.organisation_id AND bl.currency = p.currency AND bl.spend_cap IS NOT NULL
              JOIN ledger_transfers t
                ON t.organisation_id = p.organisation_id AND t.created_at >= p_spend_since
               AND t.kind = 'SETTLEMENT' AND t.currency = p.currency
              JOIN ledger_entries e ON e.transfer_id = t.id
              JOIN ledger_accounts a
                ON a.id = e.account_id AND a.organisation_id = p.organisation_id AND a.kind = 'BUYER_HELD'
             GROUP BY p.organisation_id, p.currency) s;
  END IF;

  RETURN QUERY SELECT v_seqs, v_organisations, v_markets, v_records, v_live_bids, v_plans, v_funds, v_settled;
END $$;
