-- Expiry changes of grants (Orb's expiration_change): an action type of their own, and the expiry before
-- and after on the action, so that the history shows what changed.
ALTER TYPE "ActionType" ADD VALUE 'EXPIRATION_CHANGE';

ALTER TABLE "credit_action" ADD COLUMN "previous_expires_at" TIMESTAMP(3),
ADD COLUMN "new_expires_at" TIMESTAMP(3);
