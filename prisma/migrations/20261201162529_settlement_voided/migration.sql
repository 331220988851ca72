-- AlterEnum
ALTER TYPE "SettlementState" ADD VALUE 'VOIDED';
