-- AlterTable
ALTER TABLE "customer" ADD COLUMN     "search_text" TEXT NOT NULL DEFAULT '';

-- Customers written before this migration get an approximation of the folding the ledger does, since
-- lower() folds ASCII only. The ledger recomputes the column whenever a customer changes.
UPDATE "customer" SET "search_text" = lower("external_id" || ' ' || coalesce("name", '') || ' ' || coalesce("email", ''));
