-- Indexes for store and partner filters on one account's or customer's history in the default order, so
-- that a filtered page is read in index order and stops when it is full (see src/ledger/history.ts).

-- CreateIndex
CREATE INDEX "credit_entry_account_id_store_id_effective_at_id_idx" ON "credit_entry"("account_id", "store_id", "effective_at", "id");

-- CreateIndex
CREATE INDEX "credit_entry_account_id_partner_id_effective_at_id_idx" ON "credit_entry"("account_id", "partner_id", "effective_at", "id");

-- CreateIndex
CREATE INDEX "credit_entry_customer_id_store_id_effective_at_id_idx" ON "credit_entry"("customer_id", "store_id", "effective_at", "id");

-- CreateIndex
CREATE INDEX "credit_entry_customer_id_partner_id_effective_at_id_idx" ON "credit_entry"("customer_id", "partner_id", "effective_at", "id");
