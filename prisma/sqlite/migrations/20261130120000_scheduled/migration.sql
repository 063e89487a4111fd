-- Scheduled grants: a deposit effective later records its grant at once, holding nothing, with its amount in
-- "scheduled_amount" until its effective time, when its entry is recorded. The account's "scheduled" is the
-- sum over its grants, and its "next_lapse_at" also covers the scheduled grants' effective times. No grant is
-- scheduled yet, so both start at zero and next_lapse_at stays as it is.
ALTER TABLE "credit_grant" ADD COLUMN "scheduled_amount" BIGINT NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "credit_account" ADD COLUMN "scheduled" BIGINT NOT NULL DEFAULT 0;

-- CreateIndex
CREATE INDEX "credit_grant_account_id_scheduled_amount_idx" ON "credit_grant"("account_id", "scheduled_amount");
