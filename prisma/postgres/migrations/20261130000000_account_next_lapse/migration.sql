-- The earliest lapse (expiry or void) among an account's grants that still hold credits, so that reads know
-- from the account row alone whether expirations are due.
ALTER TABLE "credit_account" ADD COLUMN "next_lapse_at" TIMESTAMP(3);

UPDATE "credit_account" a SET "next_lapse_at" = (
    SELECT MIN(COALESCE(g."voided_at", g."expires_at")) FROM "credit_grant" g
    WHERE g."account_id" = a."id" AND g."remaining_amount" > 0
);

-- CreateIndex
CREATE INDEX "credit_account_next_lapse_at_idx" ON "credit_account"("next_lapse_at");
