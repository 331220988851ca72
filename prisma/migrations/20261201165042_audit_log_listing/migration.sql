-- AlterTable
ALTER TABLE "audit_log" ALTER COLUMN "target_id" SET DATA TYPE VARCHAR(200);

-- CreateIndex
CREATE INDEX "audit_log_created_at_id_idx" ON "audit_log"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "audit_log_action_created_at_idx" ON "audit_log"("action", "created_at");
