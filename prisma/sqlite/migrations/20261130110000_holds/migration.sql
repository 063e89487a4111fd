-- Holds: credits of an account reserved for a later capture. A pending hold counts in its account's "held";
-- each of its transitions is an action linked to it through "hold_id". Columns are added in place (SQLite
-- allows a nullable or defaulted column with a reference) rather than by copying the ledger's largest tables.

-- CreateTable
CREATE TABLE "credit_hold" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenant_id" TEXT NOT NULL,
    "account_id" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'PENDING',
    "amount" BIGINT NOT NULL,
    "captured_amount" BIGINT NOT NULL DEFAULT 0,
    "expires_at" DATETIME,
    "closed_at" DATETIME,
    "created_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" DATETIME NOT NULL,
    CONSTRAINT "credit_hold_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant" ("id") ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "credit_hold_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "credit_account" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);

-- AlterTable: no account holds anything yet.
ALTER TABLE "credit_account" ADD COLUMN "held" BIGINT NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "credit_action" ADD COLUMN "hold_id" TEXT REFERENCES "credit_hold" ("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- CreateIndex
CREATE INDEX "credit_action_hold_id_idx" ON "credit_action"("hold_id");

-- CreateIndex
CREATE INDEX "credit_hold_account_id_state_created_at_id_idx" ON "credit_hold"("account_id", "state", "created_at", "id");

-- CreateIndex
CREATE INDEX "credit_hold_account_id_state_expires_at_idx" ON "credit_hold"("account_id", "state", "expires_at");
