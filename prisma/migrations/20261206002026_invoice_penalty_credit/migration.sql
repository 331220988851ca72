-- AlterTable
ALTER TABLE "invoices" ADD COLUMN     "penalty_credit" BIGINT NOT NULL DEFAULT 0;
