-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_customer" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenant_id" TEXT NOT NULL,
    "external_id" TEXT NOT NULL,
    "name" TEXT,
    "email" TEXT,
    "search_text" TEXT NOT NULL DEFAULT '',
    "created_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" DATETIME NOT NULL,
    CONSTRAINT "customer_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
INSERT INTO "new_customer" ("created_at", "email", "external_id", "id", "name", "tenant_id", "updated_at") SELECT "created_at", "email", "external_id", "id", "name", "tenant_id", "updated_at" FROM "customer";
DROP TABLE "customer";
ALTER TABLE "new_customer" RENAME TO "customer";
CREATE INDEX "customer_tenant_id_created_at_id_idx" ON "customer"("tenant_id", "created_at", "id");
CREATE UNIQUE INDEX "customer_tenant_id_external_id_key" ON "customer"("tenant_id", "external_id");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- Customers written before this migration get an approximation of the folding the ledger does, since
-- lower() folds ASCII only. The ledger recomputes the column whenever a customer changes.
UPDATE "customer" SET "search_text" = lower("external_id" || ' ' || coalesce("name", '') || ' ' || coalesce("email", ''));
