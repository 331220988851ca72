-- AlterEnum (alone: PostgreSQL refuses a value added in the same transaction that uses it)
ALTER TYPE "LedgerAccountKind" ADD VALUE 'PLATFORM_SPREAD';
