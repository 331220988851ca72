-- Idempotency records no longer hold secrets shown once (docs/DESIGN.md): null those stored
-- before, as a replay now answers them.

-- Registration records were scoped "registration" and fingerprinted with a plain SHA-256 of a
-- body holding the password; new ones are scoped by caller, so these can never replay again.
DELETE FROM "idempotency_records" WHERE "scope" = 'registration';

-- API key creation and rotation.
UPDATE "idempotency_records" SET "response_body" = jsonb_set("response_body", '{key}', 'null')
WHERE jsonb_typeof("response_body") = 'object' AND jsonb_typeof("response_body" -> 'key') = 'string';

-- Webhook endpoint registration.
UPDATE "idempotency_records" SET "response_body" = jsonb_set("response_body", '{secret}', 'null')
WHERE jsonb_typeof("response_body") = 'object' AND jsonb_typeof("response_body" -> 'secret') = 'string';

-- Invitations.
UPDATE "idempotency_records" SET "response_body" = jsonb_set("response_body", '{token}', 'null')
WHERE jsonb_typeof("response_body") = 'object' AND jsonb_typeof("response_body" -> 'token') = 'string';
