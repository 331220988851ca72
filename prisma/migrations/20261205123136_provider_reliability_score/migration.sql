-- AlterTable
ALTER TABLE "organisations" ADD COLUMN     "reliability_score" DOUBLE PRECISION NOT NULL DEFAULT 80;
