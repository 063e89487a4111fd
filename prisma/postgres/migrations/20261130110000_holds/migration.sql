-- Holds: credits of an account reserved for a later capture. A pending hold counts in its account's "held";
-- each of its transitions is an action linked to it through "hold_id".

-- AlterEnum: the new values are not used in this migration (PostgreSQL allows that inside a transaction).
ALTER TYPE "ActionType" ADD VALUE 'HOLD';
ALTER TYPE "ActionType" ADD VALUE 'HOLD_RELEASE';
ALTER TYPE "ActionType" ADD VALUE 'HOLD_EXPIRATION';

-- CreateEnum
CREATE TYPE "HoldState" AS ENUM ('PENDING', 'CAPTURED', 'RELEASED', 'EXPIRED');

-- AlterTable: no account holds anything yet.
ALTER TABLE "credit_account" ADD COLUMN "held" BIGINT NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "credit_action" ADD COLUMN "hold_id" TEXT;

-- CreateTable
CREATE TABLE "credit_hold" (
    "id" TEXT NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "account_id" TEXT NOT NULL,
    "state" "HoldState" NOT NULL DEFAULT 'PENDING',
    "amount" BIGINT NOT NULL,
    "captured_amount" BIGINT NOT NULL DEFAULT 0,
    "expires_at" TIMESTAMP(3),
    "closed_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "credit_hold_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "credit_action_hold_id_idx" ON "credit_action"("hold_id");

-- CreateIndex
CREATE INDEX "credit_hold_account_id_state_created_at_id_idx" ON "credit_hold"("account_id", "state", "created_at", "id");

-- CreateIndex
CREATE INDEX "credit_hold_account_id_state_expires_at_idx" ON "credit_hold"("account_id", "state", "expires_at");

-- AddForeignKey
ALTER TABLE "credit_action" ADD CONSTRAINT "credit_action_hold_id_fkey" FOREIGN KEY ("hold_id") REFERENCES "credit_hold"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_hold" ADD CONSTRAINT "credit_hold_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenant"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "credit_hold" ADD CONSTRAINT "credit_hold_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "credit_account"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
