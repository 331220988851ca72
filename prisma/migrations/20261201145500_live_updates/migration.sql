-- CreateEnum
CREATE TYPE "WebhookDeliveryStatus" AS ENUM ('PENDING', 'SUCCEEDED', 'FAILED');

-- AlterTable
ALTER TABLE "outbox_events" ADD COLUMN     "audience" UUID[] DEFAULT ARRAY[]::UUID[],
ADD COLUMN     "stream_position" BIGINT;

-- CreateTable
CREATE TABLE "webhook_endpoints" (
    "id" UUID NOT NULL,
    "organisation_id" UUID NOT NULL,
    "url" VARCHAR(2048) NOT NULL,
    "description" VARCHAR(500),
    "event_types" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "secret" BYTEA NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "webhook_endpoints_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_deliveries" (
    "id" UUID NOT NULL,
    "endpoint_id" UUID NOT NULL,
    "organisation_id" UUID NOT NULL,
    "event_id" UUID NOT NULL,
    "event_seq" BIGINT NOT NULL,
    "event_type" VARCHAR(64) NOT NULL,
    "body" TEXT NOT NULL,
    "status" "WebhookDeliveryStatus" NOT NULL DEFAULT 'PENDING',
    "run" INTEGER NOT NULL DEFAULT 0,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_attempt_at" TIMESTAMPTZ(3),
    "next_attempt_at" TIMESTAMPTZ(3),
    "last_response_status" INTEGER,
    "last_error" VARCHAR(500),
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "webhook_delivery_attempts" (
    "id" BIGSERIAL NOT NULL,
    "delivery_id" UUID NOT NULL,
    "run" INTEGER NOT NULL,
    "attempt" INTEGER NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "duration_ms" INTEGER NOT NULL,
    "response_status" INTEGER,
    "error" VARCHAR(500),
    "succeeded" BOOLEAN NOT NULL,

    CONSTRAINT "webhook_delivery_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "webhook_endpoints_organisation_id_created_at_idx" ON "webhook_endpoints"("organisation_id", "created_at");

-- CreateIndex
CREATE INDEX "webhook_deliveries_endpoint_id_created_at_idx" ON "webhook_deliveries"("endpoint_id", "created_at");

-- CreateIndex
CREATE INDEX "webhook_deliveries_status_next_attempt_at_idx" ON "webhook_deliveries"("status", "next_attempt_at");

-- CreateIndex
CREATE UNIQUE INDEX "webhook_deliveries_endpoint_id_event_id_key" ON "webhook_deliveries"("endpoint_id", "event_id");

-- CreateIndex
CREATE INDEX "webhook_delivery_attempts_delivery_id_id_idx" ON "webhook_delivery_attempts"("delivery_id", "id");

-- CreateIndex
CREATE UNIQUE INDEX "outbox_events_stream_position_key" ON "outbox_events"("stream_position");

-- CreateIndex
CREATE INDEX "outbox_events_audience_idx" ON "outbox_events" USING GIN ("audience");

-- AddForeignKey
ALTER TABLE "webhook_endpoints" ADD CONSTRAINT "webhook_endpoints_organisation_id_fkey" FOREIGN KEY ("organisation_id") REFERENCES "organisations"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "webhook_deliveries_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "webhook_endpoints"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "webhook_delivery_attempts" ADD CONSTRAINT "webhook_delivery_attempts_delivery_id_fkey" FOREIGN KEY ("delivery_id") REFERENCES "webhook_deliveries"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Stream positions: the relay takes them under a transaction-scoped advisory lock held until
-- its commit (OutboxRepository.systemMarkPublished), so they grow in commit order, which seq
-- does not. Not a column default: Prisma would report drift for a standalone sequence default.
CREATE SEQUENCE "outbox_stream_position" AS BIGINT;

-- Events recorded before this migration get the audience eventAudience() would give them (the
-- organisations their payload names; market events every organisation) and, when already
-- published, positions in seq order.
UPDATE "outbox_events"
SET "audience" = ARRAY['00000000-0000-0000-0000-000000000000'::uuid]
WHERE "type" LIKE 'market.%';

UPDATE "outbox_events"
SET "audience" = ARRAY(
  SELECT DISTINCT v::uuid
  FROM unnest(ARRAY[
    "payload"->>'organisationId',
    "payload"->>'buyerOrganisationId',
    "payload"->>'providerOrganisationId'
  ]) AS v
  WHERE v ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
WHERE "type" NOT LIKE 'market.%';

UPDATE "outbox_events" e
SET "stream_position" = p.pos
FROM (
  SELECT "id", row_number() OVER (ORDER BY "seq") AS pos
  FROM "outbox_events"
  WHERE "published_at" IS NOT NULL
) p
WHERE e."id" = p."id";

SELECT setval('outbox_stream_position', COALESCE((SELECT max("stream_position") FROM "outbox_events"), 0) + 1, false);
