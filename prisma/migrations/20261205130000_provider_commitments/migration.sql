-- AlterEnum
ALTER TYPE "LeaseTerminationReason" ADD VALUE 'PROVIDER_NOTICE';

-- AlterEnum
ALTER TYPE "LedgerAccountKind" ADD VALUE 'PROVIDER_RECEIVABLE';

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "LedgerTransferKind" ADD VALUE 'PENALTY';
ALTER TYPE "LedgerTransferKind" ADD VALUE 'RECOVERY';

-- AlterTable
ALTER TABLE "leases" ADD COLUMN     "notice_given_at" TIMESTAMPTZ(3),
ADD COLUMN     "penalty" BIGINT;

-- AlterTable
ALTER TABLE "offers" ADD COLUMN     "termination_notice_hours" INTEGER NOT NULL DEFAULT 24;
