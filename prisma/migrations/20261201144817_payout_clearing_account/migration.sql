-- AlterEnum
ALTER TYPE "LedgerAccountKind" ADD VALUE 'PAYOUT_CLEARING';
